"""LAPOR <-> Open311 GeoReport v2, purely: no I/O, time passed in.

* service = a leaf of the category tree (`service_code` = category id, `group` = its top-level topic);
  every service has the same definition: the LAPOR fields Open311 lacks, as optional attributes.
* `status` = `closed` for closed and archived reports, `open` for everything else; the LAPOR status and what
  it means are in `status_notes`.
* datetimes carry the offset of the zone the report is handled in (WIB +07:00, WITA +08:00, WIT +09:00):
  the handling (or addressed) institution's, else the region's, else Jakarta's. Never naive, never guessed.
* a new report is unverified, so POST answers a `token` (services are `batch`); see `issue_token`.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from chalicelib.clock import parse_instant
from chalicelib.domain.report import INSPECTION_RESOLUTION_DAYS, REPORT_TYPES, RESOLUTION_DAYS
from chalicelib.domain.vocabulary import AWAITING_FOLLOW_UP, AWAITING_VERIFICATION, FINISHED, Status
from chalicelib.domain.working_days import ZONES
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.http.presenters import zone_of
from chalicelib.http.validation import Field
from chalicelib.reference import Category, ReferenceData

JURISDICTION = "lapor.go.id"  # the one jurisdiction this endpoint serves (A.1: so jurisdiction_id is optional)
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-03-01T00:00:00+07:00"  # when what this endpoint serves last changed (discovery)
FORMATS = ("json", "xml")
SERVICE_TYPE = "batch"  # a report is verified before it is public: POST gives a token, not an id
MAX_DESCRIPTION = 4000  # the spec's limit (LAPOR's own JSON API allows 5,000)
MIN_DESCRIPTION = 10  # as the JSON API: a report must say something
WINDOW = timedelta(days=90)  # the spec's default and maximum search range
MAX_PAGE_SIZE = 100  # one index Query and one BatchGetItem (at most 100 keys) per page
MAX_IDS = 100
REPORT_ID = re.compile(r"LAP-[2-9A-HJ-NP-Z]{10}")
_HTML = re.compile(r"<\s*/?\s*[A-Za-z!?][^>]*>|&(?:[A-Za-z]+|#[0-9]+|#x[0-9A-Fa-f]+);")
_TOKEN_TAG_HEX = 32  # 128 bits


# --------------------------------------------------------------------------------------------- services

@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: str  # string | singlevaluelist (the spec's datatypes we need)
    order: int
    description: str
    datatype_description: str
    values: Mapping[str, str] | None = None  # key -> name, for singlevaluelist

    def to_dict(self) -> dict[str, Any]:
        entry = {"variable": True, "code": self.code, "datatype": self.datatype, "required": False,
                 "datatype_description": self.datatype_description, "order": self.order,
                 "description": self.description}
        if self.values is not None:
            entry["values"] = [{"key": key, "name": name} for key, name in self.values.items()]
        return entry


_YES_NO = {"false": "Tidak / No", "true": "Ya / Yes"}
# All optional: a generic city app that knows no attributes must still be able to report. `requires_inspection`
# (berkadar pengawasan) is the verifier's, never the reporter's, so it is not here.
ATTRIBUTES = (
    Attribute("report_type", "singlevaluelist", 1, "Jenis laporan / kind of report",
              "complaint when not given; the verifier may change it",
              {"complaint": "Pengaduan (complaint)", "aspiration": "Aspirasi (aspiration)",
               "information_request": "Permintaan informasi (information request)"}),
    Attribute("region_code", "string", 2, "Wilayah / region: Kemendagri code of the kabupaten/kota or province",
              "e.g. 64.72 (Kota Samarinda); when not given the verifier sets the region"),
    Attribute("title", "string", 3, "Judul / a short summary", "at most 150 characters; when not given the "
                                                                 "verifier writes one"),
    Attribute("institution_id", "string", 4, "Instansi tujuan / address the report straight to an institution",
              "an institution id from GET /institutions, e.g. pemkot-samarinda"),
    Attribute("anonymous", "singlevaluelist", 5,
              "Anonim: hide the reporter's identity from the public and from every handler", "false when not given",
              _YES_NO),
    Attribute("confidential", "singlevaluelist", 6, "Rahasia: the report is never published (not even here)",
              "false when not given", _YES_NO),
)
_ATTRIBUTES = {attribute.code: attribute for attribute in ATTRIBUTES}


def service_categories(reference: ReferenceData) -> list[Category]:
    """The categories a report is filed under: the leaves of the tree, in file order."""
    return [c for c in reference.categories.values() if reference.is_leaf_category(c.id)]


def _group(reference: ReferenceData, category: Category) -> Category:
    return reference.category(category.parent_id) if category.parent_id else category


def services(reference: ReferenceData) -> list[dict[str, Any]]:
    listed = []
    for category in service_categories(reference):
        group = _group(reference, category)
        listed.append({"service_code": category.id, "service_name": category.name,
                       "description": category.name if group is category else f"{group.name}: {category.name}",
                       "metadata": True, "type": SERVICE_TYPE,
                       "keywords": ", ".join(dict.fromkeys((group.name.lower(), category.name.lower()))),
                       "group": group.name})
    return listed


def require_service(reference: ReferenceData, service_code: str | None) -> Category:
    category = reference.category(service_code) if service_code else None
    if category is None or not reference.is_leaf_category(category.id):
        shown = (service_code or "")[:100]
        raise NotFound(f"service_code {shown!r} not found (see services.json)",
                       f"service_code {shown!r} tidak ada (lihat services.json)")
    return category


def service_definition(reference: ReferenceData, service_code: str) -> dict[str, Any]:
    category = require_service(reference, service_code)
    return {"service_code": category.id, "attributes": [attribute.to_dict() for attribute in ATTRIBUTES]}


def discovery(url: str, stage: str) -> dict[str, Any]:
    return {"changeset": CHANGESET, "contact": "KemenPANRB, pengelola SP4N-LAPOR! (https://www.lapor.go.id)",
            "key_service": "API keys are issued to client apps by the national admin (admin_nasional): "
                           "POST /open311-keys, or `lapor open311-key create NAME`",
            "endpoints": [{"specification": SPECIFICATION, "url": url, "changeset": CHANGESET,
                           "type": "production" if stage in ("prod", "production") else "test",
                           "formats": ["text/xml", "application/json"]}]}


# ------------------------------------------------------------------------------------------- jurisdiction

def check_jurisdiction(jurisdiction_id: str | None) -> None:
    if jurisdiction_id and jurisdiction_id != JURISDICTION:
        raise NotFound(f"jurisdiction_id {jurisdiction_id[:100]!r} not found; this endpoint serves {JURISDICTION}",
                       f"jurisdiction_id {jurisdiction_id[:100]!r} tidak ada; layanan ini untuk {JURISDICTION}")


# ----------------------------------------------------------------------------------------------- status

_NOTES = {
    Status.SUBMITTED: "submitted; waiting to be verified (belum diverifikasi)",
    Status.ON_HOLD: "on hold: the verifier asked the reporter for clarification (belum diverifikasi)",
    Status.DISPOSED: "verified and disposed to {agency} (belum ditindaklanjuti)",
    Status.ASSIGNED: "assigned to a unit of {agency} (belum ditindaklanjuti)",
    Status.RETURNED: "returned as not its authority (bukan wewenang); being disposed to another institution",
    Status.IN_PROGRESS: "{agency} is following it up (dalam proses)",
    Status.ANSWERED: "{agency} has given its final answer; it closes when the reply window ends unless the "
                     "reporter objects (dalam proses)",
    Status.CLOSED: "finished (selesai)",
    Status.ARCHIVED: "archived without handling",
}
_CLOSED_BECAUSE = {"accepted": "the reporter accepted the answer", "no_reply": "the reply window passed"}


def open311_status(status: str) -> str:
    """closed = closed or archived (finished one way or the other); everything else is open."""
    return "closed" if status in FINISHED else "open"


def status_notes(shown: Mapping[str, Any], agency: str | None) -> str:
    status = shown["status"]
    note = f"LAPOR status {status}: " + _NOTES[Status(status)].format(agency=agency or "the institution")
    if status == Status.CLOSED and shown.get("closed"):
        note += f"; {_CLOSED_BECAUSE.get(shown['closed']['reason'], shown['closed']['reason'])}"
    finals = [entry for entry in shown.get("follow_ups", []) if entry.get("final")]
    if finals and status in (Status.ANSWERED, Status.CLOSED):
        note += f". Final answer: {finals[-1]['message']}"
    return note


def service_notice(report_type: str | None, requires_inspection: bool) -> str | None:
    if report_type not in RESOLUTION_DAYS:
        return None
    days = INSPECTION_RESOLUTION_DAYS if requires_inspection else RESOLUTION_DAYS[report_type]
    return f"resolved within {days} working days of disposition (diselesaikan dalam {days} hari kerja)"


# -------------------------------------------------------------------------------------------- datetimes

def w3c(instant: str | None, zone: str) -> str | None:
    """A stored UTC instant as a W3C datetime with the zone's offset, e.g. 2026-03-02T09:00:00+07:00."""
    if not instant:
        return None
    return parse_instant(instant).astimezone(ZONES[zone]).isoformat(timespec="seconds")


def expected_at(shown: Mapping[str, Any]) -> str | None:
    """The running deadline: verification before disposition, resolution while handled, the end of the reply
    window once answered (when it closes unless the reporter objects); none when finished."""
    deadlines, status = shown.get("deadlines") or {}, shown["status"]
    if status in AWAITING_VERIFICATION:
        return deadlines.get("verification")
    if status in (*AWAITING_FOLLOW_UP, Status.IN_PROGRESS):
        return deadlines.get("resolution")
    if status == Status.ANSWERED:
        return deadlines.get("reply")
    return None


def updated_at(shown: Mapping[str, Any]) -> str | None:
    """The last change; for a closed request the spec wants the closing time."""
    if shown["status"] == Status.CLOSED and shown.get("closed"):
        return shown["closed"]["at"]
    if shown["status"] == Status.ARCHIVED and shown.get("archived"):
        return shown["archived"]["at"]
    return shown.get("updated_at")


# --------------------------------------------------------------------------------------------- requests

def request_record(shown: Mapping[str, Any], reference: ReferenceData, media_base: str = "") -> dict[str, Any]:
    """One service request, in the spec's field order, from a report as the public may see it
    (chalicelib.http.presenters.present_report): no reporter field exists here, and an anonymous report
    has no location because the presenter removed it. `media_url` is the API's route of the first photo the
    public may see (the presenter listed only those: none of an anonymous report until marked safe); that
    route answers 302 to a short-lived copy, so the URL itself stays valid."""
    zone = zone_of(shown, reference)
    category = reference.category(shown["category_id"]) if shown.get("category_id") else None
    institution = reference.institution(shown["institution_id"]) if shown.get("institution_id") else None
    agency = institution.name if institution else None
    location = shown.get("location") or {}
    record = {
        "service_request_id": shown["report_id"],
        "status": open311_status(shown["status"]),
        "status_notes": status_notes(shown, agency),
        "service_name": category.name if category else None,
        "service_code": category.id if category else None,
        "description": shown.get("body"),
        "agency_responsible": agency,
        "service_notice": service_notice(shown.get("report_type"), bool(shown.get("requires_inspection"))),
        "requested_datetime": w3c(shown.get("submitted_at"), zone),
        "updated_datetime": w3c(updated_at(shown), zone),
        "expected_datetime": w3c(expected_at(shown), zone),
        "address": location.get("address"),
        "lat": location.get("lat"),
        "long": location.get("lon"),
        "media_url": media_base + shown["photos"][0]["url"] if shown.get("photos") else None,
    }
    return {name: value for name, value in record.items() if value is not None}


# ----------------------------------------------------------------------------------------------- tokens

# A token needs no storage and cannot be lost: `<report id>.<tag>`, the tag an HMAC of the id under the
# settings' token secret (domain-separated from the reporters' access tokens, which use the same secret).
# GET tokens/{token} recomputes the tag and compares in constant time, so no lookup table exists to lose or
# to fill, and only the app that submitted the report holds a token that proves it exists; a guessed or
# altered token is simply 404. It grants nothing else: once the report is public its id is public anyway.

def _tag(secret: str, report_id: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"open311-token:{report_id}".encode("utf-8"), hashlib.sha256)
    return mac.hexdigest()[:_TOKEN_TAG_HEX]


def issue_token(secret: str, report_id: str) -> str:
    return f"{report_id}.{_tag(secret, report_id)}"


def report_of_token(secret: str, token: str) -> str | None:
    report_id, dot, tag = token.partition(".")
    if not dot or not REPORT_ID.fullmatch(report_id) or not hmac.compare_digest(tag, _tag(secret, report_id)):
        return None
    return report_id


def token_record(token: str, shown: Mapping[str, Any] | None, view: Mapping[str, Any] | None) -> dict[str, Any]:
    """What tokens/{token} says: the id once the report is public (`shown`, as the public sees it), otherwise
    why not yet — or why never — from the report's own view (`view`, None while not yet projected)."""
    if shown is not None:
        return {"service_request_id": shown["report_id"], "token": token}
    status = view["status"] if view else None
    if status is None or status in AWAITING_VERIFICATION:
        notice = ("received; not yet verified. LAPOR verifies a report within 3 working days; the "
                  "service_request_id appears here once it is published")
    elif status == Status.ARCHIVED:
        reason = (view.get("archived") or {}).get("reason")
        notice = f"archived without handling (reason: {reason}); it will not be published"
    else:  # verified but confidential (rahasia): handled, never published
        notice = "verified and being handled, but confidential (rahasia): it is never published"
    return {"token": token, "service_notice": notice}


# --------------------------------------------------------------------------------------- POST requests

_LOCATION_FIELDS = ("lat", "long", "address_string", "address_id")
_PERSONAL_FIELDS = ("email", "first_name", "last_name", "phone")
# Accepted and not kept: LAPOR has no device or account registry, and no media store yet.
_IGNORED_FIELDS = ("device_id", "account_id", "media_url")
_KNOWN_FIELDS = frozenset(("api_key", "jurisdiction_id", "service_code", "description", *_LOCATION_FIELDS,
                           *_PERSONAL_FIELDS, *_IGNORED_FIELDS))
_ATTRIBUTE = re.compile(r"attribute\[([^\]]*)\](\[\])?")
_DESCRIPTION = Field(str, required=True, min_length=MIN_DESCRIPTION, max_length=MAX_DESCRIPTION)
_NAME = Field(str, max_length=100)
_TITLE = Field(str, max_length=150)
_CODE = Field(str, max_length=100)
_EMAIL, _PHONE = Field(str, max_length=254), Field(str, max_length=32)


@dataclass(frozen=True)
class Submission:
    """A POST requests form, checked: what SubmitReport needs, and the personal data kept apart from it."""

    category_id: str
    body: str
    report_type: str
    region_code: str  # "" when not given: the verifier sets it (the domain allows that for open311)
    title: str | None
    institution_id: str | None
    anonymous: bool
    confidential: bool
    location: dict[str, Any]
    personal: dict[str, str | None] | None  # name/phone/email for chalicelib.http.routes' checks; never an event
    ignored: tuple[str, ...]  # fields sent that LAPOR does not keep (said in the answer's service_notice)


def single(form: Mapping[str, list[str]], name: str) -> str | None:
    """A field sent at most once; empty is the same as absent (A.1)."""
    values = form.get(name) or []
    if len(values) > 1:
        raise ValidationFailed(f"{name} was sent {len(values)} times", f"{name} dikirim {len(values)} kali",
                               field=name)
    value = values[0].strip() if values else ""
    return value or None


def _coordinate(raw: str | None, name: str, spec: Field, errors: list[dict[str, str]]) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        errors.append({"field": name, "problem": "must be a decimal number (WGS84 degrees)"})
        return None
    return _checked(name, value, spec, errors)


def _checked(name: str, value: Any, spec: Field, errors: list[dict[str, str]]) -> Any:
    """The value if `spec` accepts it; else None, with the problem added to `errors`."""
    if value is None:
        if spec.required:
            errors.append({"field": name, "problem": "is required"})
        return None
    problem = spec.problem(value)
    if problem:
        errors.append({"field": name, "problem": problem})
        return None
    return value


def _yes_no(name: str, value: str | None, errors: list[dict[str, str]]) -> bool:
    if value not in (None, "true", "false"):
        errors.append({"field": f"attribute[{name}]", "problem": "must be true or false"})
    return value == "true"


def parse_submission(form: Mapping[str, list[str]], reference: ReferenceData,
                     location_fields: Mapping[str, Field]) -> Submission:
    """Check a POST requests form completely (every problem at once) before anything is written.

    `location_fields` are the JSON API's bounds (lat/lon inside Indonesia, address length), so both APIs
    accept the same places."""
    errors: list[dict[str, str]] = []
    attributes: dict[str, str | None] = {}
    for name in sorted(form):
        match = _ATTRIBUTE.fullmatch(name)
        if match is None:
            if name not in _KNOWN_FIELDS:
                errors.append({"field": name, "problem": "is not a field of POST Service Request"})
            continue
        code = match.group(1)
        if code not in _ATTRIBUTES or match.group(2):  # every attribute of ours is single-valued
            errors.append({"field": name, "problem": f"is not an attribute of this service; known: "
                                                     f"{', '.join(_ATTRIBUTES)}"})
            continue
        attributes[code] = single(form, name)
    category = require_service(reference, single(form, "service_code"))
    body = _checked("description", single(form, "description"), _DESCRIPTION, errors)
    if body is not None and _HTML.search(body):
        errors.append({"field": "description", "problem": "must be plain text, without HTML"})

    lat = _coordinate(single(form, "lat"), "lat", location_fields["lat"], errors)
    lon = _coordinate(single(form, "long"), "long", location_fields["lon"], errors)
    address = _checked("address_string", single(form, "address_string"), location_fields["address"], errors)
    if (single(form, "lat") is None) != (single(form, "long") is None):
        errors.append({"field": "lat/long", "problem": "must be sent together"})
    if single(form, "address_id") is not None:
        errors.append({"field": "address_id", "problem": "is not supported (LAPOR has no master address list); "
                                                         "send lat and long, or address_string"})
    if single(form, "lat") is None and single(form, "long") is None and single(form, "address_string") is None:
        errors.append({"field": "lat/long/address_string", "problem": "a location is required: lat and long "
                                                                      "(WGS84), or address_string"})

    report_type = attributes.get("report_type") or "complaint"
    if report_type not in REPORT_TYPES:
        errors.append({"field": "attribute[report_type]", "problem": f"must be one of {list(REPORT_TYPES)}"})
    title = _checked("attribute[title]", attributes.get("title"), _TITLE, errors)
    region_code = _checked("attribute[region_code]", attributes.get("region_code"), _CODE, errors)
    institution_id = _checked("attribute[institution_id]", attributes.get("institution_id"), _CODE, errors)
    # Checked here too (the domain checks them again) so that no request counter is spent on a typo.
    if region_code and reference.region(region_code) is None:
        errors.append({"field": "attribute[region_code]", "problem": "is not a known region code (GET /regions)"})
    if institution_id and reference.institution(institution_id) is None:
        errors.append({"field": "attribute[institution_id]", "problem": "is not a known institution "
                                                                         "(GET /institutions)"})
    anonymous = _yes_no("anonymous", attributes.get("anonymous"), errors)
    confidential = _yes_no("confidential", attributes.get("confidential"), errors)

    first = _checked("first_name", single(form, "first_name"), _NAME, errors)
    last = _checked("last_name", single(form, "last_name"), _NAME, errors)
    email = _checked("email", single(form, "email"), _EMAIL, errors)
    phone = _checked("phone", single(form, "phone"), _PHONE, errors)
    if errors:
        summary = "; ".join(f"{e['field']} {e['problem']}" for e in errors)
        raise ValidationFailed(f"invalid request: {summary}", f"permintaan tidak sah: {summary}", errors=errors)

    name = " ".join(part for part in (first, last) if part) or None
    personal = {"name": name, "phone": phone, "email": email, "nik": None} if (name or phone or email) else None
    location = {key: value for key, value in (("lat", lat), ("lon", lon), ("address", address)) if value is not None}
    return Submission(category_id=category.id, body=body or "", report_type=report_type, region_code=region_code or "",
                      title=title, institution_id=institution_id, anonymous=anonymous, confidential=confidential,
                      location=location, personal=personal,
                      ignored=tuple(name for name in _IGNORED_FIELDS if single(form, name) is not None))


def submit_notice(ignored: tuple[str, ...]) -> str:
    notice = ("received; LAPOR verifies every report within 3 working days. Poll tokens/{token} for the "
              "service_request_id: it appears once the report is verified and published")
    if ignored:
        notice += f". Not kept: {', '.join(ignored)}"
    return notice


# ---------------------------------------------------------------------------------------- GET requests

@dataclass(frozen=True)
class RequestQuery:
    """GET requests' arguments, checked. `ids` (service_request_id) overrides all the others (A.2)."""

    ids: tuple[str, ...] | None
    service_codes: tuple[str, ...]
    start: datetime
    end: datetime
    statuses: frozenset[str]
    page_size: int
    page: str | None  # the opaque token from the previous page's Link header; None = the first page


def _instant(query: Mapping[str, str], name: str) -> datetime | None:
    raw = (query.get(name) or "").strip()
    if not raw:
        return None
    try:
        return parse_instant(raw)
    except ValueError:
        raise ValidationFailed(f"{name} must be a W3C datetime with a zone, e.g. 2026-03-01T00:00:00+07:00 or "
                               f"2026-03-01T00:00:00Z (got {raw[:40]!r})",
                               f"{name} harus tanggal-waktu W3C dengan zona waktu", field=name) from None


def _comma_list(query: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in (query.get(name) or "").split(",") if part.strip()))


def parse_request_query(query: Mapping[str, str], reference: ReferenceData, now: datetime) -> RequestQuery:
    ids = _comma_list(query, "service_request_id")
    if len(ids) > MAX_IDS:
        raise ValidationFailed(f"at most {MAX_IDS} service_request_id at once", f"paling banyak {MAX_IDS} id",
                               field="service_request_id")
    codes = _comma_list(query, "service_code")
    unknown = [code for code in codes if code not in {c.id for c in service_categories(reference)}]
    if unknown:  # a filter, not a resource: 400 (A.2 #5 has no 404 for it)
        raise ValidationFailed(f"unknown service_code {unknown[0][:100]!r} (see services.json)",
                               f"service_code {unknown[0][:100]!r} tidak dikenal", field="service_code")
    statuses = frozenset(_comma_list(query, "status"))
    if statuses - {"open", "closed"}:
        raise ValidationFailed("status must be open, closed or both (comma-separated)",
                               "status harus open, closed atau keduanya", field="status")
    start, end = _instant(query, "start_date"), _instant(query, "end_date")
    if start is None and end is None:
        end = now
    end = end or start + WINDOW
    start = start or end - WINDOW
    if start > end:
        raise ValidationFailed("start_date is after end_date", "start_date setelah end_date", field="start_date")
    if end - start > WINDOW:
        raise ValidationFailed("start_date to end_date may span at most 90 days",
                               "rentang start_date sampai end_date paling lama 90 hari", field="end_date")
    raw_size = (query.get("page_size") or "").strip() or str(MAX_PAGE_SIZE)
    if not re.fullmatch(r"[0-9]{1,3}", raw_size) or not 1 <= int(raw_size) <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"page_size must be 1..{MAX_PAGE_SIZE}", f"page_size harus 1..{MAX_PAGE_SIZE}",
                               field="page_size")
    page = (query.get("page") or "").strip() or None
    if page is not None and re.fullmatch(r"[0-9]+", page):
        if page != "1":  # an offset would cost a Query per skipped page; the Link header's token costs one
            raise ValidationFailed("page is the token from the previous page's Link header (rel=\"next\"); "
                                   "only page=1 may be given as a number",
                                   "page adalah token dari header Link halaman sebelumnya", field="page")
        page = None
    return RequestQuery(ids=ids or None, service_codes=codes, start=start, end=end, statuses=statuses,
                        page_size=int(raw_size), page=page)
