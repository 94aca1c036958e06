"""Public reports for Open311, at the public JSON API's cost and under its visibility rule.

Visibility: every report shown has gone through chalicelib.http.presenters.present_report as the public
(ANONYMOUS_PUBLIC), exactly as GET /reports/{id} does for an anonymous caller: only verified,
non-confidential, non-archived reports, without the reporter reference and, for anonymous reports, without
the location. Listing uses the public-list indexes (a report is in them only while it is public).

Cost, whatever the number of reports: one request is one GetItem; one page of GET requests is one Query of
a public-list index (`public-category` for one service_code, `public-all` otherwise; newest first, bounded
above by end_date) plus one BatchGetItem of the page's views — the indexes project only the list summary,
and a service request needs the description, location and update time the summary does not carry.
"""
from __future__ import annotations

import json
import time
from typing import Any

from chalicelib.bootstrap import Services
from chalicelib.clock import iso
from chalicelib.domain.access import ANONYMOUS_PUBLIC
from chalicelib.http.presenters import present_report
from chalicelib.open311.mapping import REPORT_ID, RequestQuery, open311_status, request_record
from infra.tables import REPORT_VIEWS

_BATCH_ATTEMPTS = 5


def media_base(services: Services) -> str:
    """Where `media_url`s start: LAPOR_PUBLIC_URL (AWS), else the origin (and stage prefix) the client called,
    as discovery does; "" outside a request."""
    if services.settings.public_url:
        return services.settings.public_url
    from chalicelib.http.endpoint import api

    try:
        request = api.current_request
    except Exception:  # noqa: BLE001 — not inside a request (a test calling the reads directly)
        return ""
    if request is None:
        return ""
    headers = {k.lower(): v for k, v in (request.headers or {}).items()}
    context = request.context or {}
    called, resource = context.get("path") or "", context.get("resourcePath") or ""
    prefix = ""
    if resource and called != resource:  # API Gateway's stage prefix: what the called path has beyond the route's
        for name, value in (request.uri_params or {}).items():
            resource = resource.replace("{" + name + "}", value)
        prefix = called[: -len(resource)] if called.endswith(resource) else ""
    host = headers.get("host")
    return f"{headers.get('x-forwarded-proto', 'http')}://{host}{prefix}" if host else ""


def shown_to_public(view: dict[str, Any] | None) -> dict[str, Any] | None:
    return present_report(view, ANONYMOUS_PUBLIC)


def public_request(services: Services, report_id: str) -> dict[str, Any] | None:
    """One service request (one GetItem), or None when the public may not see it."""
    if not REPORT_ID.fullmatch(report_id):
        return None  # cannot exist: no DynamoDB call
    shown = shown_to_public(services.views.get(report_id))
    return request_record(shown, services.reference, media_base(services)) if shown else None


def _views(services: Services, report_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The views of up to 100 reports in one BatchGetItem (again only for keys DynamoDB left unprocessed)."""
    from botocore.exceptions import ClientError

    if not report_ids:
        return {}
    table = services.generations.table_name(REPORT_VIEWS)
    pending: dict[str, Any] = {table: {"Keys": [{"report_id": {"S": rid}} for rid in dict.fromkeys(report_ids)],
                                       "ProjectionExpression": "#v", "ExpressionAttributeNames": {"#v": "view"}}}
    found: dict[str, dict[str, Any]] = {}
    for attempt in range(_BATCH_ATTEMPTS):
        response = services.dynamodb().batch_get_item(RequestItems=pending)
        for item in response.get("Responses", {}).get(table, []):
            view = json.loads(item["view"]["S"])
            found[view["report_id"]] = view
        pending = response.get("UnprocessedKeys") or {}
        if not pending:
            return found
        time.sleep(0.05 * 2 ** attempt)  # DynamoDB leaves keys unprocessed when throttled: back off
    # Still throttled: the database's fault, not the request's (answered 503, retry later).
    raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException",
                                 "Message": "BatchGetItem left keys unprocessed"}}, "BatchGetItem")


def requests_by_id(services: Services, report_ids: tuple[str, ...]) -> list[dict[str, Any]]:
    """service_request_id=a,b,c: those of them the public may see, in the order asked."""
    views = _views(services, [rid for rid in report_ids if REPORT_ID.fullmatch(rid)])
    shown = (shown_to_public(views.get(rid)) for rid in report_ids)
    return [request_record(report, services.reference, media_base(services)) for report in shown if report]


def request_page(services: Services, query: RequestQuery,
                 start_key: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One page of GET requests (newest first) and where the next page starts (None: this was the last).

    start_date, several service codes and status filter the index rows of the page, so a page may hold fewer
    than page_size requests and still have a next one."""
    one_code = len(query.service_codes) == 1
    index, key = ("public-category", query.service_codes[0]) if one_code else ("public-all", "public")
    # `p_at` is "<submitted_at>#<report id>": "~" sorts after "#", so a report made at end_date itself is in.
    page = services.views.page(index, key, limit=query.page_size, newest_first=True,
                               before=iso(query.end) + "~", start_key=start_key)
    start = iso(query.start)
    in_window = [row for row in page.rows if row["submitted_at"] >= start]
    next_key = page.last_key if len(in_window) == len(page.rows) else None  # older rows follow: the window ended
    rows = [row for row in in_window
            if one_code or not query.service_codes or row["category_id"] in query.service_codes]
    views = _views(services, [row["report_id"] for row in rows])
    shown = [report for report in (shown_to_public(views.get(row["report_id"])) for row in rows) if report]
    # The status of the view itself (the index row may be a moment older).
    base = media_base(services)
    return [request_record(report, services.reference, base) for report in shown
            if not query.statuses or open311_status(report["status"]) in query.statuses], next_key
