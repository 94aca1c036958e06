"""The staff console (`/konsol`): sign-in, the work queue, a report with the actions its reader may take now, the
Ombudsman's timeline, the reprimand list and the notifications addressed to the signed-in scope. HTML forms,
no JavaScript.

One set of rules, the API's: every read is the JSON API's own route function (`list_queue`, `get_report`'s
presenter, `get_report_timeline`, `list_reprimands`, `get_reporter`) called with the session's principal, and
every action is its route function (`verify_report`, `assign_report`, ...) with a body validated by its own
Schema. Which actions a report offers is asked of the aggregate (`decide` on the report's state, pure) with a
probe command per action, never of a role table here. A report the reader may not see is the not-found page.
Sign-in and the session cookie: chalicelib/web/console_session.py.
"""
from __future__ import annotations

import dataclasses
import hmac
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalice import Response

from chalicelib.bootstrap import get_services
from chalicelib.clock import iso, parse_instant
from chalicelib.domain import commands as c
from chalicelib.domain.access import (
    REPRIMAND_READERS,
    TIMELINE_ROLES,
    Principal,
    is_unit_liaison,
    queue_of,
    sees_reporter_identity,
)
from chalicelib.domain.deadlines import institution_zone, next_due, running_clocks
from chalicelib.domain.report import (
    ARCHIVE_REASONS,
    REPORT_TYPES,
    Context,
    decide,
    state_from_json,
)
from chalicelib.domain.vocabulary import STAFF_ROLES
from chalicelib.domain.working_days import ZONES
from chalicelib.errors import (
    ConcurrencyConflict,
    Forbidden,
    IdempotencyKeyReused,
    InvalidTransition,
    LaporError,
    NotFound,
    ReportNotFound,
    RuleViolated,
    UnknownReference,
    ValidationFailed,
)
from chalicelib.http.cursor import decode_cursor, encode_cursor
from chalicelib.http.endpoint import Call
from chalicelib.http.errors import status_of
from chalicelib.http.list_routes import QUEUE_BUCKETS, list_queue, list_reprimands
from chalicelib.http.photo_routes import photo_redirect
from chalicelib.http.presenters import exposure_of, find_photo, present_report, zone_of
from chalicelib.http.routes import (
    ARCHIVE,
    ASSIGN,
    FOLLOW_UP,
    HOLD,
    REASON,
    REDISPOSE,
    VERIFY,
    archive_report,
    assign_report,
    get_reporter,
    hold_report,
    post_follow_up,
    redispose_report,
    return_report,
    verify_report,
)
from chalicelib.http.stats_routes import get_report_timeline
from chalicelib.http.validation import Schema, parse_form_body, validate
from chalicelib.web import console_session as session
from chalicelib.web import forms, photo_forms
from chalicelib.web.console_texts import CONSOLE_TEXTS
from chalicelib.web.pages import Names, page
from chalicelib.web.render import Page
from infra.tables import QUEUE_INDEXES
from projections.outbox import Recipient

_FRESH_WAIT_SECONDS, _FRESH_POLL_SECONDS = 2.0, 0.2
_OUTBOX_PAGE = 20  # messages per outbox page
_LOCAL_MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?")


# ------------------------------------------------------------------------------------------------ pages

def _words(view: Page) -> dict[str, str]:
    return CONSOLE_TEXTS[view.lang]


def _html(view: Page, template: str, principal: Principal | None, status: int = 200, *,
          headers: dict[str, str] | None = None, **values: Any) -> Response:
    """A console page; `me` (the signed-in principal, None on the sign-in pages) and `who` it is in words."""
    who = ""
    if principal is not None:
        reference = get_services().reference
        names, region = Names(reference), reference.region(principal.region_code) if principal.region_code else None
        who = " · ".join(filter(None, (_words(view)[f"role_{principal.role}"],
                                       names.institution(principal.institution_id, principal.unit_id),
                                       region.name if region else None)))
    nav = _nav(principal) if principal is not None else {}
    return view.html(template, status, k=_words(view), me=principal, who=who, nav=nav, headers=headers, **values)


def _signed_out(view: Page, path: str, call: Call) -> Response:
    """No (valid) session on a GET: to sign-in, and back here afterwards."""
    here = path
    for name, value in call.params.items():
        here = here.replace("{" + name + "}", value)
    query = "&".join(f"{k}={v}" for k, v in call.query.items() if k in ("bucket", "overdue"))
    return view.redirect(view.url("/konsol/masuk", next=session.safe_next(here + ("?" + query if query else ""))))


def console_page(method: str, path: str, operation_id: str, summary: str) -> Callable:
    """A console page: a citizen-page endpoint (`page`: HTML errors, no staff bearer token read) whose principal
    is the session's. Forbidden (a role that may not open this page) is said in the console's words."""
    def decorate(handler: Callable[[Call, Page], Response]) -> Callable:
        @page(method, path, operation_id, summary)
        def run(call: Call, view: Page) -> Response:
            principal = session.principal_of(call.services.settings.token_secret, view.cookies, call.now)
            if principal is None:
                if method == "POST":
                    view.form(call.raw_body, call.headers.get("content-type"))  # a forged POST: the CSRF page
                    return _html(view, "konsol_error.html", None, 401, title=_words(view)["session_expired_title"],
                                 message=_words(view)["session_expired"])
                return _signed_out(view, path, call)
            try:
                return handler(dataclasses.replace(call, principal=principal), view)
            except Forbidden as refused:
                if refused.details.get("csrf"):
                    raise
                return _html(view, "konsol_error.html", principal, 403, title=_words(view)["forbidden_title"],
                             message=_words(view)["forbidden"])
        return run
    return decorate


def _nav(principal: Principal) -> dict[str, bool]:
    """Which console pages this principal has: asked of the access policy, as the routes ask it."""
    return {"queue": queue_of(principal) is not None, "reprimands": principal.role in REPRIMAND_READERS}


# ------------------------------------------------------------------------------------------------ queue

def _api_call(call: Call, operation_id: str, *, query: dict[str, str] | None = None,
              params: dict[str, str] | None = None, body: dict[str, Any] | None = None,
              key: str | None = None) -> Call:
    """This request as the JSON API's route sees it (the same operation, so the same idempotency fingerprint):
    only the query parameters that route reads, the validated body, the form's idempotency key as the header.
    (As chalicelib/web/pages.py `_as_api_call`, plus the query.)"""
    headers = {k: v for k, v in call.headers.items() if k != "idempotency-key"}
    if key:
        headers["idempotency-key"] = key
    return dataclasses.replace(call, operation_id=operation_id, headers=headers,
                               query=query if query is not None else call.query,
                               params=params if params is not None else call.params,
                               body=body if body is not None else call.body)


def _rows(call: Call, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    reference, now = call.services.reference, iso(call.now)
    return [row | {"zone": zone_of(row, reference),
                   "overdue": bool(row.get("next_due")) and row["next_due"] < now} for row in rows]


@console_page("GET", "/konsol", "webConsoleQueue", "Konsol: the signed-in staff's work queue (HTML)")
def console_queue(call: Call, view: Page) -> Response:
    principal = call.principal
    queue = queue_of(principal)
    asked = {name: call.query[name] for name in ("bucket", "overdue", "cursor") if call.query.get(name)}
    listed, problem, status = {"reports": [], "next_cursor": None}, None, 200
    if queue is not None:
        try:
            listed = list_queue(_api_call(call, "listQueue", query=asked))
        except (ValidationFailed, UnknownReference) as refused:
            problem, status = (refused.pesan if view.lang == "id" else refused.message), status_of(refused)
    filters = {name: asked[name] for name in ("bucket", "overdue") if name in asked}
    next_url = view.url("/konsol", **filters, cursor=listed["next_cursor"]) if listed.get("next_cursor") else None
    buckets = QUEUE_BUCKETS if queue is not None and f"queue-{queue.kind}-bucket" in QUEUE_INDEXES else ()
    return _html(view, "konsol.html", principal, status, queue=queue, buckets=buckets,
                 rows=_rows(call, listed["reports"]), filters=filters, next_url=next_url, problem=problem,
                 paged="cursor" in asked, names=Names(call.services.reference),
                 switch=view.switch_url("/konsol"))


@console_page("GET", "/konsol/cari", "webConsoleFind", "Konsol: open a report by its tracking id (redirects)")
def console_find(call: Call, view: Page) -> Response:
    report_id = call.query.get("id", "").strip().upper()
    if not re.fullmatch(r"LAP-[2-9A-HJ-NP-Z]{10}", report_id):
        raise ReportNotFound(report_id[:40])
    return view.redirect(view.url(f"/konsol/laporan/{report_id}"))


# ------------------------------------------------------------------------------------------------ a report

def _verify_probe(p: Principal) -> c.Command:
    return c.VerifyReport(principal=p, institution_id=p.institution_id or "?", title=None, category_id=None,
                          report_type=None, requires_inspection=False, anonymous=None, confidential=None)


@dataclass(frozen=True)
class StaffAction:
    """A staff action: the JSON API route it runs, its body's declaration, fields the form fixes, and a probe
    command asking the aggregate whether the action is open to this principal now."""

    slug: str
    operation_id: str
    route: Callable[[Call], dict[str, Any]]
    schema: Schema
    probe: Callable[[Principal], c.Command]
    fixed: tuple[tuple[str, Any], ...] = ()


ACTIONS = {action.slug: action for action in (
    StaffAction("verifikasi", "verifyReport", verify_report, VERIFY, _verify_probe),
    StaffAction("tunda", "holdReport", hold_report, HOLD, lambda p: c.HoldReport(principal=p, question="?")),
    StaffAction("arsip", "archiveReport", archive_report, ARCHIVE,
                lambda p: c.ArchiveReport(principal=p, reason=ARCHIVE_REASONS[0], duplicate_of=None, note=None)),
    StaffAction("tugaskan", "assignReport", assign_report, ASSIGN, lambda p: c.AssignReport(principal=p, unit_id="?")),
    StaffAction("disposisi-ulang", "redisposeReport", redispose_report, REDISPOSE,
                lambda p: c.RedisposeReport(principal=p, institution_id="?")),
    StaffAction("tindak-lanjut", "postFollowUp", post_follow_up, FOLLOW_UP,
                lambda p: c.PostFollowUp(principal=p, message="?", final=False), (("final", False),)),
    StaffAction("jawaban-akhir", "postFollowUp", post_follow_up, FOLLOW_UP,
                lambda p: c.PostFollowUp(principal=p, message="?", final=True), (("final", True),)),
    StaffAction("kembalikan", "returnReport", return_report, REASON,
                lambda p: c.ReturnReport(principal=p, reason="?")),
)}


def open_actions(state: Any, principal: Principal, context: Context) -> list[str]:
    """The actions the aggregate would take from this principal now. A probe's placeholders ("?") are not real
    references, so a probe the aggregate refuses only for its input (ValidationFailed, UnknownReference) has
    passed every rule of role, visibility and state — each decider checks those first — and is open: the form
    asks for the real input. Refused by role, state or a rule: not open. `decide` is pure; nothing is written."""
    offered = []
    for slug, action in ACTIONS.items():
        try:
            decide(state, action.probe(principal), context)
        except (ValidationFailed, UnknownReference):
            pass
        except LaporError:
            continue
        offered.append(slug)
    return offered


def action_body(form: dict[str, str], action: StaffAction, lists: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The command's body from the form, typed by the schema (forms.typed). A checkbox of a field without a
    default (verify's anonymous/confidential: "add, never remove") unticked means "leave as it is", not false.
    A list field (verify's `safe_photo_ids`) is every ticked box of that name (`lists`: the form, all values)."""
    body = {}
    for name, spec in action.schema.items():
        if spec.kind is list:
            body[name] = (lists or {}).get(name) or None
        elif spec.kind is bool and spec.default is None and not spec.required:
            body[name] = True if name in form else None
        else:
            body[name] = forms.typed(form, name, spec)
    return body | dict(action.fixed)


def _fresh_view(call: Call, report_id: str, at_least: int) -> dict[str, Any] | None:
    """The report view, waiting briefly for the stream to bring it to `at_least` (the version an action just
    wrote), so that after POST-redirect-GET the page shows what was done. (As pages.py `_fresh_view`.)"""
    views = call.services.views
    view = views.get(report_id)
    deadline = time.monotonic() + _FRESH_WAIT_SECONDS
    while (view is None or view["version"] < at_least) and at_least and time.monotonic() < deadline:
        time.sleep(_FRESH_POLL_SECONDS)
        view = views.get(report_id)
    return view


def _deadlines(call: Call, state: Any, shown: dict[str, Any], zone: str) -> list[dict[str, Any]]:
    """Every deadline the report has; those still running (`running_clocks`, and the reporter's reply window
    while it is the one waited on) with working days to go or past."""
    calendar, now, waiting = call.services.calendar, call.now, next_due(state)
    running = {clock.name: clock.due for clock in running_clocks(state)}  # the institution's clocks
    rows = []
    for name in ("verification", "follow_up", "resolution", "reply"):
        due = (shown.get("deadlines") or {}).get(name)
        if not due:
            continue
        at = parse_instant(due)
        over = now > at
        days = calendar.working_days_between(at, now, zone) if over else calendar.working_days_between(now, at, zone)
        rows.append({"name": name, "at": due, "days": days, "over": over,
                     "running": running.get(name) == due or (name == "reply" and due == waiting)})
    return rows


def _history(shown: dict[str, Any]) -> list[dict[str, Any]]:
    """What happened to the report that people wrote, in time order: the staff sees the reporter's words too."""
    entries = [{"at": f["at"], "kind": "final" if f.get("final") else "follow_up", "by": f.get("by") or {},
                "message": f["message"]} for f in shown.get("follow_ups", [])]
    entries += [{"at": r["at"], "kind": "clarification" if r.get("clarification") else "reply", "by": {},
                 "message": r["message"]} for r in shown.get("replies", [])]
    entries += [{"at": o["at"], "kind": "objection", "by": {}, "message": o["reason"]}
                for o in shown.get("objections", [])]
    entries += [{"at": r["at"], "kind": "return", "by": r.get("by") or {}, "message": r["reason"]}
                for r in shown.get("returns", [])]
    if shown.get("hold"):
        entries.append({"at": shown["hold"]["at"], "kind": "hold", "by": {}, "message": shown["hold"]["question"]})
    if shown.get("ombudsman_escalation"):
        escalation = shown["ombudsman_escalation"]
        entries.append({"at": escalation["at"], "kind": "escalation", "by": {}, "message": escalation["reason"]})
    return sorted(entries, key=lambda entry: entry["at"])


def _prefilled(shown: dict[str, Any]) -> dict[str, str]:
    """The verify form starts from what the report says (its institution: the one it was addressed to)."""
    return {"title": shown.get("title") or "", "category_id": shown.get("category_id") or "",
            "type": shown.get("report_type") or "", "region_code": shown.get("region_code") or "",
            "institution_id": shown.get("institution_id") or shown.get("addressed_institution_id") or ""}


def _report_options(view: Page, reference: Any, institution: Any) -> dict[str, Any]:
    """The action forms' choices as (value, label) pairs: the reference data's, in the page's words."""
    words = _words(view)
    return {
        "institution_options": [(i.id, i.name) for i in sorted(reference.institutions.values(), key=lambda i: i.name)],
        "category_groups": [(top.name, [(child.id, child.name) for child in reference.children_of(top.id)])
                            for top in reference.top_level_categories()],
        "region_groups": [(province.name, [(r.code, r.name) for r in reference.regions_in(province.code)])
                          for province in reference.provinces()],
        "type_options": [(kind, view.t[f"type_{kind}"]) for kind in REPORT_TYPES],
        "archive_options": [(reason, words[f"archive_{reason}"]) for reason in ARCHIVE_REASONS],
        "unit_options": [(unit.id, unit.name) for unit in (institution.units if institution else ())]}


def _report_page(call: Call, view: Page, report: dict[str, Any], *, status: int = 200, done: str | None = None,
                 stale: bool = False, failed: str | None = None, values: dict[str, str] | None = None,
                 errors: dict[str, str] | None = None, refusal: str | None = None,
                 key: str | None = None) -> Response:
    services, principal = call.services, call.principal
    shown = present_report(report, principal)
    if shown is None:
        raise ReportNotFound(report["report_id"])
    state = state_from_json(report["state"])
    zone = zone_of(shown, services.reference)
    context = Context(now=call.now, calendar=services.calendar, reference=services.reference)
    reference = services.reference
    institution = reference.institution(shown.get("institution_id")) if shown.get("institution_id") else None
    return _html(
        view, "konsol_laporan.html", principal, status, report=shown, zone=zone,
        names=Names(reference), deadlines=_deadlines(call, state, shown, zone), history=_history(shown),
        actions=open_actions(state, principal, context), done=done, stale=stale, failed=failed,
        values=values or {}, errors=errors or {}, refusal=refusal, key=key, prefilled=_prefilled(shown),
        timeline=principal.role in TIMELINE_ROLES,
        identity=sees_reporter_identity(principal, exposure_of(report), report["anonymous"]),
        liaison_return=is_unit_liaison(principal, exposure_of(report)), **_report_options(view, reference, institution),
        photos=photo_forms.with_thumbnail_sizes(shown["photos"]), headers=photo_forms.policy(photo_forms.storage_of(call), images=bool(shown["photos"])),
        switch=view.switch_url(f"/konsol/laporan/{shown['report_id']}") if status == 200 else None)


@console_page("GET", "/konsol/laporan/{report_id}", "webConsoleReport",
              "Konsol: one report as the signed-in staff may see it, with the actions open to them (HTML)")
def console_report(call: Call, view: Page) -> Response:
    report_id = call.params["report_id"]
    asked = call.query.get("v", "")
    at_least = int(asked) if re.fullmatch(r"[0-9]{1,6}", asked) else 0
    report = _fresh_view(call, report_id, at_least)
    if report is None:
        raise ReportNotFound(report_id)
    done = call.query["ok"] if call.query.get("ok") in ACTIONS else None
    return _report_page(call, view, report, done=done, stale=report["version"] < at_least)


def _refusal(view: Page, refused: LaporError, report: dict[str, Any]) -> str:
    if isinstance(refused, InvalidTransition):
        return _words(view)["refused_state"].format(status=_words(view)[f"status_{report['status']}"])
    return refused.pesan if view.lang == "id" else refused.message


# An unknown reference names its kind; the staff forms' fields that hold one (forms.field_errors maps the rest).
_REFERENCE_FIELD = {"institution": "institution_id", "unit": "unit_id"}


def _field_errors(refused: LaporError, lang: str) -> dict[str, str]:
    return {_REFERENCE_FIELD.get(name, name): problem for name, problem in forms.field_errors(refused, lang).items()}


def _declare_action(action: StaffAction) -> None:
    name = "".join(part.capitalize() for part in action.slug.split("-"))

    @console_page("POST", f"/konsol/laporan/{{report_id}}/{action.slug}", f"webConsole{name}",
                  f"Konsol: {action.operation_id} from the report's page (HTML, redirects)")
    def act(call: Call, view: Page) -> Response:
        report_id = call.params["report_id"]
        form = view.form(call.raw_body, call.headers.get("content-type"))
        key = form.get("idem") or None
        try:
            lists = parse_form_body(call.raw_body, call.headers.get("content-type"))  # already CSRF-checked
            body = validate(action_body(form, action, lists), action.schema)
            result = action.route(_api_call(call, action.operation_id, body=body, key=key))
        except (ValidationFailed, UnknownReference, IdempotencyKeyReused, InvalidTransition, RuleViolated,
                ConcurrencyConflict, Forbidden) as refused:
            report = call.services.views.get(report_id)
            if report is None or present_report(report, call.principal) is None:
                raise ReportNotFound(report_id) from None
            fields = isinstance(refused, (ValidationFailed, UnknownReference, IdempotencyKeyReused)) or (
                isinstance(refused, RuleViolated) and "field" in refused.details)
            return _report_page(call, view, report, status=status_of(refused), failed=action.slug, values=form,
                                errors=_field_errors(refused, view.lang) if fields else {},
                                refusal=None if fields else _refusal(view, refused, report), key=key)
        return view.redirect(view.url(f"/konsol/laporan/{report_id}", v=str(result["version"]), ok=action.slug))


for _action in ACTIONS.values():
    _declare_action(_action)


@console_page("GET", "/konsol/laporan/{report_id}/pelapor", "webConsoleReporter",
              "Konsol: the reporter's identity, for those getReporter answers (HTML)")
def console_reporter(call: Call, view: Page) -> Response:
    report_id = call.params["report_id"]
    try:
        person = get_reporter(_api_call(call, "getReporter", query={}))
        problem = None
    except NotFound as missing:
        if isinstance(missing, ReportNotFound):
            raise
        person, problem = None, _words(view)["reporter_none"]
    report = call.services.views.get(report_id)
    return _html(view, "konsol_pelapor.html", principal=call.principal,
                 report=present_report(report, call.principal), person=person, problem=problem)


@console_page("GET", "/konsol/laporan/{report_id}/foto/{attachment_id}", "webConsolePhoto",
              "Konsol: a photo of the report, if the signed-in staff may see it (302 to a short-lived URL; "
              "?ukuran=kecil: the thumbnail)")
def console_photo(call: Call, view: Page) -> Response:
    """The API's photo rule (`may_see_photo`, through `find_photo`): an anonymous report's photo not yet marked
    safe only for the national admin and its verifier while verification is pending."""
    storage = photo_forms.storage_of(call)
    photo = find_photo(call.services.views.get(call.params["report_id"]), call.params["attachment_id"],
                       call.principal) if storage else None
    if photo is None:
        raise NotFound("no such photo", "foto tidak ditemukan")
    return photo_redirect(storage, photo, thumbnail=call.query.get("ukuran") == "kecil")


# ------------------------------------------------------------------------------------------------ timeline

def _as_of(raw: str, zone: str) -> str:
    """A `datetime-local` value (no offset) is read in the report's zone; anything else goes to the route as it
    is, which says what is wrong with it."""
    if _LOCAL_MOMENT.fullmatch(raw):
        local = datetime.fromisoformat(raw).replace(tzinfo=ZONES[zone])
        return iso(local)
    return raw


def _local_input(instant: str, zone: str) -> str:
    return parse_instant(instant).astimezone(ZONES[zone]).strftime("%Y-%m-%dT%H:%M")


@console_page("GET", "/konsol/laporan/{report_id}/linimasa", "webConsoleTimeline",
              "Konsol: the Ombudsman's timeline of a report, also as of a past instant (HTML)")
def console_timeline(call: Call, view: Page) -> Response:
    report_id, principal = call.params["report_id"], call.principal
    shown = present_report(call.services.views.get(report_id), principal)
    zone = zone_of(shown or {}, call.services.reference)
    raw = call.query.get("as_of", "").strip()
    query = {"as_of": _as_of(raw, zone)} if raw else {}
    errors: dict[str, str] = {}
    try:
        timeline = get_report_timeline(_api_call(call, "getReportTimeline", query=query))
        status = 200
    except ValidationFailed as refused:
        errors, status = forms.field_errors(refused, view.lang), status_of(refused)
        timeline = get_report_timeline(_api_call(call, "getReportTimeline", query={}))
    if shown is None:  # visible to the route (it replays the events) but not yet projected: not shown either
        raise ReportNotFound(report_id)
    return _html(view, "konsol_linimasa.html", principal, status, report=shown, zone=zone,
                 timeline=timeline, names=Names(call.services.reference), errors=errors,
                 as_of_value=raw if errors else (_local_input(timeline["as_of"], zone) if raw else ""),
                                  switch=view.switch_url(f"/konsol/laporan/{report_id}/linimasa") if status == 200 else None)


# ------------------------------------------------------------------------------------------------ reprimands

@console_page("GET", "/konsol/teguran", "webConsoleReprimands",
              "Konsol: reports gone 60 days without a response (teguran), for those listReprimands answers (HTML)")
def console_reprimands(call: Call, view: Page) -> Response:
    principal = call.principal
    asked = {name: call.query[name] for name in ("region", "institution", "cursor") if call.query.get(name)}
    problem, status = None, 200
    try:
        listed = list_reprimands(_api_call(call, "listReprimands", query=asked))
    except (ValidationFailed, UnknownReference) as refused:
        listed, status = {"reports": [], "next_cursor": None}, status_of(refused)
        problem = refused.pesan if view.lang == "id" else refused.message
    filters = {name: asked[name] for name in ("region", "institution") if name in asked}
    next_url = (view.url("/konsol/teguran", **filters, cursor=listed["next_cursor"])
                if listed.get("next_cursor") else None)
    reference = call.services.reference
    return _html(view, "konsol_teguran.html", principal, status, 
                 rows=_rows(call, listed["reports"]), filters=filters, next_url=next_url, problem=problem,
                 paged="cursor" in asked, names=Names(reference),
                 regions=[(province, reference.regions_in(province.code)) for province in reference.provinces()],
                 institutions=sorted(reference.institutions.values(), key=lambda i: i.name),
                 switch=view.switch_url("/konsol/teguran"))


# ------------------------------------------------------------------------------------------------ outbox

def recipient_key(principal: Principal) -> str | None:
    """The outbox's recipient key (`Recipient.key`) of the messages addressed to this principal's scope: the
    scope of its work queue (institution, institution/unit), none for the national desks. None: no queue."""
    queue = queue_of(principal)
    if queue is None:
        return None
    scope = queue.key.split("/") if queue.kind in ("institution", "unit") else []
    institution, unit = (scope + [None, None])[:2]
    return Recipient("staff", role=principal.role, institution_id=institution, unit_id=unit).key()


@console_page("GET", "/konsol/kotak-keluar", "webConsoleOutbox",
              "Konsol: the notifications addressed to the signed-in staff's scope, newest first (HTML)")
def console_outbox(call: Call, view: Page) -> Response:
    """One Query a page of the outbox's recipient index: the cost never depends on the size of the outbox. The
    messages are the ones this scope was sent (also about a report it no longer handles: it received them)."""
    principal = call.principal
    key = recipient_key(principal)
    if key is None:
        raise Forbidden("only staff with a work queue receive notifications", "hanya staf dengan antrean kerja")
    secret, scope = call.services.settings.token_secret, f"outbox#{key}"
    messages, last_key = call.services.outbox.addressed_to(
        key, limit=_OUTBOX_PAGE, start_key=decode_cursor(call.query.get("cursor"), scope, secret))
    zone = institution_zone(principal.institution_id, call.services.reference)  # where this desk works
    cursor = encode_cursor(last_key, scope, secret)
    return _html(view, "konsol_kotak_keluar.html", principal,
                 messages=[message | {"zone": zone, "at": message["created"].split("#")[0]} for message in messages],
                 next_url=view.url("/konsol/kotak-keluar", cursor=cursor) if cursor else None,
                 paged="cursor" in call.query, switch=view.switch_url("/konsol/kotak-keluar"))


# ------------------------------------------------------------------------------------------------ sign-in

def _redirect_uri(call: Call, view: Page) -> str:
    return session.public_base(call.services.settings, call.headers) + view.base + session.CALLBACK_PATH


def _picker(call: Call, view: Page, *, status: int = 200, values: dict[str, str] | None = None,
            errors: dict[str, str] | None = None) -> Response:
    reference = call.services.reference
    institutions = sorted(reference.institutions.values(), key=lambda i: i.name)
    return _html(view, "konsol_masuk.html", None, status, roles=STAFF_ROLES, values=values or {},
                 errors=errors or {}, next=session.safe_next((values or {}).get("next") or call.query.get("next")),
                 institution_options=[(i.id, i.name) for i in institutions],
                 unit_groups=[(i.name, [(u.id, u.name) for u in i.units]) for i in institutions if i.units],
                 province_options=[(p.code, p.name) for p in reference.provinces()],
                 oidc=session.oidc_configured(call.services.settings),
                 switch=view.switch_url("/konsol/masuk") if values is None else None)


def _start_login(call: Call, view: Page) -> Response:
    settings = call.services.settings
    login = session.Login.new(session.safe_next(call.query.get("next")))
    view.set_cookies.append(login.cookie(settings.token_secret, view.base, call.now))
    return view.redirect(session.authorize_url(settings, login, _redirect_uri(call, view)))


@page("GET", "/konsol/masuk", "webConsoleSignIn",
      "Konsol: sign in — locally a role picker; elsewhere a redirect to the IdP (authorization code + PKCE)")
def console_sign_in(call: Call, view: Page) -> Response:
    settings = call.services.settings
    if settings.stage == "local" and call.query.get("idp") != "1":
        return _picker(call, view)
    if not session.oidc_configured(settings):
        return _html(view, "konsol_error.html", None, 503, title=_words(view)["signin_unavailable_title"],
                     message=_words(view)["signin_unavailable"])
    return _start_login(call, view)


@page("POST", "/konsol/masuk", "webConsoleSignInLocal", "Konsol: sign in with the local role picker (local only)")
def console_sign_in_local(call: Call, view: Page) -> Response:
    settings = call.services.settings
    if settings.stage != "local":
        raise NotFound("no such page", "halaman tidak ada")
    form = view.form(call.raw_body, call.headers.get("content-type"))
    try:
        principal = session.picked_principal(settings, form, call.services.reference, call.services.verifier)
    except session.PickerRefused as refused:
        words = _words(view)
        return _picker(call, view, status=422, values=form,
                       errors={name: words[f"picker_{problem}"] for name, problem in refused.problems.items()})
    view.set_cookies.append(session.session_cookie(settings.token_secret, view.base, principal, call.now))
    return view.redirect(view.base + session.safe_next(form.get("next")))


@page("GET", "/konsol/masuk/kembali", "webConsoleSignInCallback",
      "Konsol: the IdP's redirect back (code and state); exchanges the code, verifies the id_token, starts the session")
def console_sign_in_callback(call: Call, view: Page) -> Response:
    settings, words = call.services.settings, _words(view)
    login = session.Login.of(settings.token_secret, view.cookies, call.now)
    view.set_cookies.append(session.forget_login(view.base))  # one use: the state and verifier go either way
    code, state = call.query.get("code", ""), call.query.get("state", "")
    failed = lambda: _html(view, "konsol_error.html", None, 401, title=words["signin_failed_title"],
                           message=words["signin_failed"], retry=True)
    if not session.oidc_configured(settings) or login is None or not code or not state or len(code) > 2000:
        return failed()
    if not hmac.compare_digest(state.encode("utf-8", "replace"), login.state.encode("ascii")):
        return failed()
    try:
        id_token = session.exchange_code(settings, code, login, _redirect_uri(call, view))
        principal = session.principal_from_id_token(id_token, call.services.verifier)
    except session.SignInFailed:
        return failed()
    view.set_cookies.append(session.session_cookie(settings.token_secret, view.base, principal, call.now))
    return view.redirect(view.base + login.next)


@page("POST", "/konsol/keluar", "webConsoleSignOut", "Konsol: sign out (and, with an IdP, end its session)")
def console_sign_out(call: Call, view: Page) -> Response:
    view.form(call.raw_body, call.headers.get("content-type"))  # CSRF: no other site can sign anyone out
    settings = call.services.settings
    view.set_cookies.append(session.forget_session(view.base))
    landing = session.public_base(settings, call.headers) + view.base + session.SIGNED_OUT_PATH
    elsewhere = session.logout_url(settings, landing) if settings.stage != "local" else None
    return view.redirect(elsewhere or view.url(session.SIGNED_OUT_PATH))


@page("GET", "/konsol/keluar/selesai", "webConsoleSignedOut", "Konsol: signed out (HTML)")
def console_signed_out(call: Call, view: Page) -> Response:
    view.set_cookies.append(session.forget_session(view.base))
    return _html(view, "konsol_keluar.html", None, switch=view.switch_url(session.SIGNED_OUT_PATH))

