"""The LAPOR HTTP API. Each route is thin: validated body in, a command or one read-model lookup, JSON out."""
from __future__ import annotations

import re
from typing import Any

from chalicelib.clock import iso
from chalicelib.domain import commands as c
from chalicelib.domain.access import AUDIT_ROLES, sees_reporter_identity
from chalicelib.domain.report import ARCHIVE_REASONS, MAX_PHOTOS, REPORT_TYPES
from chalicelib.domain.vocabulary import Role
from chalicelib.errors import Forbidden, NotFound, ReportNotFound, ValidationFailed
from chalicelib.http.endpoint import Call, endpoint
from chalicelib.http.openapi import document
from chalicelib.http.presenters import exposure_of, present_report
from chalicelib.http.validation import Field
from chalicelib.reference import (
    InvalidPhoneNumber,
    category_tree,
    institution_to_dict,
    is_valid_nik,
    normalize_phone,
    region_to_dict,
)
from chalicelib.services.sms import phone_key
from events.chain import verify_chain

TEXT = 5000
SHORT = 200
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")

LOCATION = {"lat": Field(float, required=True, minimum=-11.5, maximum=6.5, description="latitude (WGS84)"),
            "lon": Field(float, required=True, minimum=94.5, maximum=141.5, description="longitude (WGS84)"),
            "address": Field(str, max_length=SHORT)}
REPORTER = {"name": Field(str, max_length=SHORT), "phone": Field(str, max_length=32),
            "email": Field(str, max_length=254), "nik": Field(str, max_length=32)}
SUBMIT = {
    "title": Field(str, max_length=150, description="short summary; SMS reports have none"),
    "body": Field(str, required=True, min_length=10, max_length=TEXT, description="what happened, where, when"),
    "type": Field(str, required=True, choices=REPORT_TYPES),
    "category_id": Field(str, max_length=100),
    "region_code": Field(str, required=True, max_length=20, description="Kemendagri code, e.g. 64.72"),
    "institution_id": Field(str, max_length=100, description="address the report straight to an institution"),
    "anonymous": Field(bool, default=False),
    "confidential": Field(bool, default=False),
    "channel": Field(str, choices=("web", "app", "admin"), default="web"),
    "location": Field(dict, fields=LOCATION),
    "reporter": Field(dict, fields=REPORTER, description="identity; kept apart from the event log"),
    "photo_upload_ids": Field(list, items=Field(str, max_length=32), max_length=MAX_PHOTOS,
                              description="photos uploaded first (POST /photo-uploads), attached with the report"),
}
MESSAGE = {"message": Field(str, required=True, max_length=TEXT)}
VERIFY = {
    "institution_id": Field(str, required=True, max_length=100),
    "title": Field(str, max_length=150), "category_id": Field(str, max_length=100),
    "type": Field(str, choices=REPORT_TYPES), "requires_inspection": Field(bool, default=False),
    "anonymous": Field(bool), "confidential": Field(bool),
    "region_code": Field(str, max_length=20, description="required for a report without a region (SMS, Open311)"),
    "safe_photo_ids": Field(list, items=Field(str, max_length=40), max_length=MAX_PHOTOS,
                            description="an anonymous report's photos judged safe to show the public"),
}
ARCHIVE = {"reason": Field(str, required=True, choices=ARCHIVE_REASONS),
           "duplicate_of": Field(str, max_length=40), "note": Field(str, max_length=TEXT)}
HOLD = {"question": Field(str, required=True, max_length=TEXT)}
ASSIGN = {"unit_id": Field(str, required=True, max_length=100)}
REASON = {"reason": Field(str, required=True, max_length=TEXT)}
REDISPOSE = {"institution_id": Field(str, required=True, max_length=100)}
FOLLOW_UP = {"message": Field(str, required=True, max_length=TEXT), "final": Field(bool, default=False)}
ACCEPT = {"rating": Field(int, required=True, minimum=1, maximum=5), "comment": Field(str, max_length=TEXT)}

REPORT = "/reports/{report_id}"


def checked_personal_data(raw: dict[str, Any] | None) -> dict[str, str | None] | None:
    if not raw or not any(raw.values()):
        return None
    errors = []
    phone = raw.get("phone")
    if phone:
        try:
            phone = normalize_phone(phone)
        except InvalidPhoneNumber as exc:
            errors.append({"field": "reporter.phone", "problem": str(exc)})
    if raw.get("email") and not _EMAIL.match(raw["email"]):
        errors.append({"field": "reporter.email", "problem": "is not an e-mail address"})
    if raw.get("nik") and not is_valid_nik(raw["nik"]):
        errors.append({"field": "reporter.nik", "problem": "is not a valid NIK"})
    if errors:
        raise ValidationFailed("invalid reporter details", "data pelapor tidak sah", errors=errors)
    return {"name": raw.get("name"), "phone": phone, "email": raw.get("email"), "nik": raw.get("nik")}


def _run(call: Call, command: c.Command) -> dict[str, Any]:
    return call.services.commands.execute(call.params["report_id"], command, call.request())


# ------------------------------------------------------------------------------------------------ meta

@endpoint("GET", "/health", "health", "Liveness check")
def health(call: Call) -> dict[str, Any]:
    return {"status": "ok", "service": "lapor", "stage": call.services.settings.stage, "time": iso(call.now)}


@endpoint("GET", "/openapi.json", "getOpenApi", "This OpenAPI 3.1 document")
def openapi(call: Call) -> dict[str, Any]:
    return document()


# ------------------------------------------------------------------------------------------- reporters

@endpoint("POST", "/reports", "submitReport", "Submit a report (returns the tracking ID and a secret token once)",
          body=SUBMIT, status=201, idempotent_key=True)
def submit_report(call: Call) -> dict[str, Any]:
    from chalicelib.http.photo_routes import photos_for_submission

    b = call.body
    personal, request = checked_personal_data(b["reporter"]), call.request()
    command = c.SubmitReport(
        principal=call.principal, title=b["title"], body=b["body"], report_type=b["type"],
        category_id=b["category_id"], region_code=b["region_code"], addressed_institution_id=b["institution_id"],
        anonymous=b["anonymous"], confidential=b["confidential"], channel=b["channel"],
        reporter_ref=None, access_token_hash="", location=b["location"],
        photos=photos_for_submission(call, b["photo_upload_ids"] or [], request))
    return call.services.commands.submit(command, request, personal)


@endpoint("GET", REPORT, "getReport", "Read a report as the caller may see it (one read of the report view)")
def get_report(call: Call) -> dict[str, Any]:
    report_id = call.params["report_id"]
    shown = present_report(call.services.views.get(report_id), call.principal)
    if shown is None:
        raise ReportNotFound(report_id)
    return shown


@endpoint("POST", REPORT + "/replies", "replyToReport", "Reporter: reply, or answer a request for clarification",
          body=MESSAGE, audience=Role.REPORTER, idempotent_key=True)
def reply_to_report(call: Call) -> dict[str, Any]:
    return _run(call, c.ReplyToReport(principal=call.principal, message=call.body["message"]))


@endpoint("POST", REPORT + "/acceptance", "acceptResolution", "Reporter: accept the final answer and rate it",
          body=ACCEPT, audience=Role.REPORTER, idempotent_key=True)
def accept_resolution(call: Call) -> dict[str, Any]:
    return _run(call, c.AcceptResolution(principal=call.principal, rating=call.body["rating"],
                                         comment=call.body["comment"]))


@endpoint("POST", REPORT + "/objection", "objectToResolution",
          "Reporter: object to the final answer within the reply window (reopens the report)",
          body=REASON, audience=Role.REPORTER, idempotent_key=True)
def object_to_resolution(call: Call) -> dict[str, Any]:
    return _run(call, c.ObjectToResolution(principal=call.principal, reason=call.body["reason"]))


@endpoint("POST", REPORT + "/ombudsman-escalation", "escalateToOmbudsman",
          "Reporter: escalate to the Ombudsman after an objection or a missed resolution deadline",
          body=REASON, audience=Role.REPORTER, idempotent_key=True)
def escalate_to_ombudsman(call: Call) -> dict[str, Any]:
    return _run(call, c.EscalateToOmbudsman(principal=call.principal, reason=call.body["reason"]))


# ------------------------------------------------------------------------------------------------ staff

@endpoint("POST", REPORT + "/verification", "verifyReport", "Verify and dispose to an institution",
          body=VERIFY, audience="admin_nasional, admin_instansi (addressed)", idempotent_key=True)
def verify_report(call: Call) -> dict[str, Any]:
    b = call.body
    return _run(call, c.VerifyReport(principal=call.principal, institution_id=b["institution_id"], title=b["title"],
                                     category_id=b["category_id"], report_type=b["type"],
                                     requires_inspection=b["requires_inspection"], anonymous=b["anonymous"],
                                     confidential=b["confidential"], region_code=b["region_code"],
                                     safe_photo_ids=tuple(b["safe_photo_ids"] or ())))


@endpoint("POST", REPORT + "/archive", "archiveReport", "Archive without handling (spam, duplicate, ...)",
          body=ARCHIVE, audience="admin_nasional, admin_instansi (addressed)", idempotent_key=True)
def archive_report(call: Call) -> dict[str, Any]:
    b = call.body
    return _run(call, c.ArchiveReport(principal=call.principal, reason=b["reason"], duplicate_of=b["duplicate_of"],
                                      note=b["note"]))


@endpoint("POST", REPORT + "/hold", "holdReport", "Ask the reporter for clarification",
          body=HOLD, audience="admin_nasional, admin_instansi (addressed)", idempotent_key=True)
def hold_report(call: Call) -> dict[str, Any]:
    return _run(call, c.HoldReport(principal=call.principal, question=call.body["question"]))


@endpoint("POST", REPORT + "/assignment", "assignReport", "Assign to one of the institution's units",
          body=ASSIGN, audience=Role.ADMIN_INSTANSI, idempotent_key=True)
def assign_report(call: Call) -> dict[str, Any]:
    return _run(call, c.AssignReport(principal=call.principal, unit_id=call.body["unit_id"]))


@endpoint("POST", REPORT + "/return", "returnReport",
          "Institution admin: return as not our authority; unit liaison: hand back to the institution admin",
          body=REASON, audience="admin_instansi, admin_penghubung", idempotent_key=True)
def return_report(call: Call) -> dict[str, Any]:
    return _run(call, c.ReturnReport(principal=call.principal, reason=call.body["reason"]))


@endpoint("POST", REPORT + "/redisposition", "redisposeReport", "Route a returned report to another institution",
          body=REDISPOSE, audience=Role.ADMIN_NASIONAL, idempotent_key=True)
def redispose_report(call: Call) -> dict[str, Any]:
    return _run(call, c.RedisposeReport(principal=call.principal, institution_id=call.body["institution_id"]))


@endpoint("POST", REPORT + "/follow-ups", "postFollowUp", "Post a follow-up; final=true is the final answer",
          body=FOLLOW_UP, audience="admin_instansi, admin_penghubung", idempotent_key=True)
def post_follow_up(call: Call) -> dict[str, Any]:
    return _run(call, c.PostFollowUp(principal=call.principal, message=call.body["message"],
                                     final=call.body["final"]))


# -------------------------------------------------------------------------------------------- audit

def require_role(call: Call, roles: tuple[str, ...], action: str) -> None:
    if call.principal.role not in roles:
        raise Forbidden(f"{action} is for {', '.join(roles)}", f"{action} hanya untuk {', '.join(roles)}")


def _stored_events(call: Call) -> list[dict[str, Any]]:
    events = call.services.store.load(call.params["report_id"])
    if not events:
        raise ReportNotFound(call.params["report_id"])
    return [event.to_dict() for event in events]


@endpoint("GET", REPORT + "/events", "getReportEvents", "The report's full event history with its hash chain",
          audience=", ".join(AUDIT_ROLES))
def get_report_events(call: Call) -> dict[str, Any]:
    require_role(call, AUDIT_ROLES, "the event history")
    return {"report_id": call.params["report_id"], "events": _stored_events(call)}


@endpoint("GET", REPORT + "/chain-verification", "verifyReportChain",
          "Recompute the report's hash chain and name the first broken event", audience=", ".join(AUDIT_ROLES))
def verify_report_chain(call: Call) -> dict[str, Any]:
    require_role(call, AUDIT_ROLES, "chain verification")
    view = call.services.views.get(call.params["report_id"])
    head = (view["version"], view["head_hash"]) if view else None  # None: not yet projected
    return verify_chain(call.params["report_id"], _stored_events(call), expected_head=head).to_dict()


@endpoint("GET", REPORT + "/reporter", "getReporter",
          "The reporter's identity: the reporter, the national admin, and handlers of non-anonymous reports",
          audience="reporter, staff")
def get_reporter(call: Call) -> dict[str, Any]:
    report_id = call.params["report_id"]
    view = call.services.views.get(report_id)
    if present_report(view, call.principal) is None:
        raise ReportNotFound(report_id)
    if not sees_reporter_identity(call.principal, exposure_of(view), view["anonymous"]):
        raise Forbidden("the reporter is anonymous", "pelapor memilih anonim")
    record = call.services.store.get_personal(view["reporter_ref"]) if view.get("reporter_ref") else None
    if record is None:
        raise NotFound("this report has no reporter details", "laporan ini tidak memiliki data pelapor")
    return record.to_dict()


@endpoint("POST", "/reporters/{reporter_ref}/erasure", "erasePersonalData",
          "Erase a reporter's identity (UU PDP 27/2022); the event log and its hash chain stay intact",
          audience=Role.ADMIN_NASIONAL)
def erase_personal_data(call: Call) -> dict[str, Any]:
    require_role(call, (Role.ADMIN_NASIONAL,), "erasure")
    reporter_ref, services = call.params["reporter_ref"], call.services
    person = services.store.get_personal(reporter_ref)
    if not services.store.erase_personal(reporter_ref, iso(call.now)):
        raise NotFound(f"no personal data under {reporter_ref}", f"tidak ada data pribadi untuk {reporter_ref}")
    if person and person.phone:  # an SMS reporter: the number's SMS 1708 contact goes too
        services.sms_contacts.forget(phone_key(services.settings.token_secret, person.phone))
    return {"reporter_ref": reporter_ref, "erased_at": iso(call.now)}


# ------------------------------------------------------------------------------------------ reference

@endpoint("GET", "/categories", "listCategories", "The two-level category tree")
def list_categories(call: Call) -> dict[str, Any]:
    return {"categories": category_tree(call.services.reference.categories.values())}


@endpoint("GET", "/regions", "listRegions", "Provinces, or the kabupaten/kota of one province (?province=64)",
          query=("province",))
def list_regions(call: Call) -> dict[str, Any]:
    reference, province = call.services.reference, call.query.get("province")
    if province is None:
        return {"regions": [region_to_dict(region) for region in reference.provinces()]}
    if reference.region(province) is None or reference.region(province).level != "province":
        raise NotFound(f"no province {province!r}", f"provinsi {province!r} tidak ada")
    return {"province": region_to_dict(reference.region(province)),
            "regions": [region_to_dict(region) for region in reference.regions_in(province)]}


@endpoint("GET", "/institutions", "listInstitutions", "Institutions and their units")
def list_institutions(call: Call) -> dict[str, Any]:
    return {"institutions": [institution_to_dict(i) for i in call.services.reference.institutions.values()]}
