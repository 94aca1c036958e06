"""Lists: each staff member's work queue and the public list. One index Query per page."""
from __future__ import annotations

import re
from typing import Any

from chalicelib.clock import iso
from chalicelib.domain.access import REPRIMAND_READERS, in_supervisor_scope, queue_of
from chalicelib.domain.vocabulary import HANDLING_BUCKET_NAMES, Role
from chalicelib.errors import Forbidden, UnknownReference, ValidationFailed
from chalicelib.http.cursor import decode_cursor, encode_cursor
from chalicelib.http.endpoint import Call, endpoint
from chalicelib.http.exports import FORMAT, Column, downloadable

QUEUE_BUCKETS = HANDLING_BUCKET_NAMES
MAX_PAGE = 100


def _limit(call: Call) -> int:
    raw = call.query.get("limit", "25")
    if not re.fullmatch(r"[0-9]{1,3}", raw) or not 1 <= int(raw) <= MAX_PAGE:
        raise ValidationFailed(f"limit must be 1..{MAX_PAGE}", f"limit harus 1..{MAX_PAGE}", field="limit")
    return int(raw)


def _queue_of(call: Call) -> tuple[str, str]:
    """(index prefix, key) of the caller's own queue (infra.tables QUEUE_INDEXES)."""
    queue = queue_of(call.principal)
    if queue is None:
        raise Forbidden("work queues are for admins, liaisons and the Ombudsman",
                        "antrean kerja hanya untuk admin, penghubung dan Ombudsman")
    return f"queue-{queue.kind}", queue.key


def _page(call: Call, index: str, key: str, *, newest_first: bool, before: str | None) -> dict[str, Any]:
    scope, secret = f"{index}|{key}|{before is not None}", call.services.settings.token_secret
    page = call.services.views.page(index, key, limit=_limit(call), newest_first=newest_first, before=before,
                                    start_key=decode_cursor(call.query.get("cursor"), scope, secret))
    return {"reports": page.rows, "next_cursor": encode_cursor(page.last_key, scope, secret)}


@endpoint("GET", "/queue", "listQueue",
          "The caller's work queue, nearest deadline first; ?bucket=, ?overdue=true, ?limit=, ?cursor=",
          audience="admin_nasional, admin_instansi, admin_penghubung, ombudsman",
          query=("bucket", "overdue", "limit", "cursor"))
def list_queue(call: Call) -> dict[str, Any]:
    index, key = _queue_of(call)
    bucket = call.query.get("bucket")
    if bucket is not None:
        if bucket not in QUEUE_BUCKETS or index == "queue-ombudsman":
            raise ValidationFailed(f"bucket must be one of {list(QUEUE_BUCKETS)}", "bucket tidak sah", field="bucket")
        index, key = index + "-bucket", f"{key}#{bucket}"
    overdue = call.query.get("overdue", "false")
    if overdue not in ("true", "false"):
        raise ValidationFailed("overdue must be true or false", "overdue harus true atau false", field="overdue")
    now = iso(call.now)
    result = _page(call, index, key, newest_first=False, before=now if overdue == "true" else None)
    for row in result["reports"]:
        row["overdue"] = bool(row["next_due"]) and row["next_due"] < now
    return result


# What the public sees of a report in a list, and the columns of its open-data file (documented in the README).
# Nothing here names the reporter or a staff member; the summary rows never carry the location.
_PUBLIC_FIELDS = ("report_id", "title", "status", "bucket", "report_type", "category_id", "region_code",
                  "institution_id", "submitted_at")
PUBLIC_COLUMNS = tuple(Column(name, (name,)) for name in _PUBLIC_FIELDS)
_PUBLIC_FILTERS = {"region": "wilayah", "institution": "instansi", "category": "kategori"}  # for the file name


def _public_filename(call: Call, answer: dict[str, Any]) -> str:
    chosen = [f"{_PUBLIC_FILTERS[name]}-{call.query[name]}" for name in _PUBLIC_FILTERS if call.query.get(name)]
    return "-".join(["lapor-laporan-publik", *chosen])


@endpoint("GET", "/public/reports", "listPublicReports",
          "Verified, non-confidential reports, newest first; filter by one of ?region= ?institution= ?category=; "
          "?format=json|csv (a CSV's next page is in its Link header)",
          query=("region", "institution", "category", "limit", "cursor", FORMAT))
@downloadable(filename=_public_filename, rows=lambda answer: answer["reports"],
              columns=lambda call, rows: PUBLIC_COLUMNS)
def list_public_reports(call: Call) -> dict[str, Any]:
    reference = call.services.reference
    filters = {name: call.query[name] for name in ("region", "institution", "category") if call.query.get(name)}
    if len(filters) > 1:
        raise ValidationFailed("filter by one of region, institution or category at a time",
                               "saring dengan salah satu: region, institution atau category")
    index, key = "public-all", "public"
    if "region" in filters:
        region = reference.region(filters["region"])
        if region is None:
            raise UnknownReference("region", filters["region"])
        index, key = ("public-province" if region.level == "province" else "public-region"), region.code
    elif "institution" in filters:
        if reference.institution(filters["institution"]) is None:
            raise UnknownReference("institution", filters["institution"])
        index, key = "public-institution", filters["institution"]
    elif "category" in filters:
        if reference.category(filters["category"]) is None:
            raise UnknownReference("category", filters["category"])
        index, key = "public-category", filters["category"]
    result = _page(call, index, key, newest_first=True, before=None)
    result["reports"] = [{k: row.get(k) for k in _PUBLIC_FIELDS} for row in result["reports"]]
    return result


@endpoint("GET", "/reprimands", "listReprimands",
          "Reports gone 60 days without a response (teguran), newest first; ?region= (province or kab/kota) or "
          "?institution=", audience="supervisor (within its province), ombudsman, admin_nasional",
          query=("region", "institution", "limit", "cursor"))
def list_reprimands(call: Call) -> dict[str, Any]:
    p = call.principal
    if p.role not in REPRIMAND_READERS:
        raise Forbidden("the reprimand list is for supervisors, the Ombudsman and the national admin",
                        "daftar teguran hanya untuk supervisor, Ombudsman dan admin nasional")
    reference = call.services.reference
    region_code, institution_id = call.query.get("region"), call.query.get("institution")
    if region_code and institution_id:
        raise ValidationFailed("filter by region or by institution, not both", "saring dengan wilayah atau instansi")
    if p.role == Role.SUPERVISOR and p.region_code:  # a provincial supervisor sees its province only
        region_code = region_code or p.region_code
        institution = reference.institution(institution_id) if institution_id else None
        within = (in_supervisor_scope(p, region_code) if not institution_id
                  else institution is not None and in_supervisor_scope(p, institution.region_code))
        if not within:
            raise Forbidden("outside the supervisor's province", "di luar provinsi supervisor")
    index, key = "reprimand-all", "reprimand"
    if region_code:
        region = reference.region(region_code)
        if region is None:
            raise UnknownReference("region", region_code)
        index, key = ("reprimand-province" if region.level == "province" else "reprimand-region"), region.code
    elif institution_id:
        if reference.institution(institution_id) is None:
            raise UnknownReference("institution", institution_id)
        index, key = "reprimand-institution", institution_id
    return _page(call, index, key, newest_first=True, before=None)
