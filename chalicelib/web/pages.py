"""The citizen pages: Lapor (`/`), Lacak (`/lacak`), Laporan publik (`/laporan`). HTML forms, no JavaScript.

Every page is declared through `endpoint` like the JSON API's routes, and every action runs the JSON API's own
route function with a body validated by the API's own field declarations: a submission is `submit_report`
(so `services.commands.submit`), a reporter's action `reply_to_report` & co. with the reporter principal built
from the token exactly as `X-Report-Token` builds it. Reads go through the API's presenter and public list.

The report token never travels in a URL: it is posted once (`POST /lacak`, or the receipt's button) and then
kept in an HttpOnly, SameSite=Strict cookie whose path is that one report's pages. Which actions a reporter is
offered is asked of the aggregate itself (`decide` on the report's state, a pure function), not re-encoded.
"""
from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass
from typing import Any, Callable

from chalice import Response

from chalicelib.auth import principal_from_headers
from chalicelib.bootstrap import Services, get_services
from chalicelib.clock import parse_instant
from chalicelib.domain import commands as c
from chalicelib.domain.access import ANONYMOUS_PUBLIC, Principal, is_own_reporter
from chalicelib.domain.deadlines import next_due
from chalicelib.domain.report import MAX_PHOTOS, PHOTO_TYPES, Context, ReportState, decide, state_from_json
from chalicelib.domain.vocabulary import Role
from chalicelib.domain.vocabulary import PUBLIC_BUCKETS, Status
from chalicelib.errors import (
    ConcurrencyConflict,
    Forbidden,
    IdempotencyKeyReused,
    InvalidTransition,
    LaporError,
    ReportNotFound,
    RuleViolated,
    Unauthenticated,
    UnknownReference,
    ValidationFailed,
)
from chalicelib.http.endpoint import Call, api, check_path_ids, endpoint
from chalicelib.http.errors import internal_error_response, status_of
from chalicelib.http.list_routes import list_public_reports
from chalicelib.http.photo_routes import attach_upload, photo_redirect
from chalicelib.http.presenters import exposure_of, find_photo, present_report, zone_of
from chalicelib.http.routes import (
    ACCEPT,
    MESSAGE,
    REASON,
    accept_resolution,
    escalate_to_ombudsman,
    object_to_resolution,
    reply_to_report,
    submit_report,
)
from chalicelib.http.validation import Schema, parse_form_body, validate
from chalicelib.photos import tickets
from chalicelib.photos.attach import UPLOAD_ID
from chalicelib.photos.storage import upload_key
from chalicelib.reference import ReferenceData
from chalicelib.web import forms, photo_forms
from chalicelib.web.render import Page, cookie, stylesheet_response

PAGE_PATHS: set[str] = set()  # every path declared here answers HTML or CSS (tests hold them to that)
TOKEN_COOKIE = "lapor_rt"
_MAX_TOKEN = 200
_FRESH_WAIT_SECONDS, _FRESH_POLL_SECONDS = 2.0, 0.2


def _page_of(services: Services) -> Page:
    request = api.current_request
    headers = {k.lower(): v for k, v in (request.headers or {}).items()}
    return Page.of(headers, dict(request.query_params or {}), request, secret=services.settings.token_secret,
                   stage=services.settings.stage)


def _error_page(page: Page, error: LaporError) -> Response:
    status = status_of(error)
    t = page.t
    if error.details.get("csrf"):
        message = t["csrf_failed"]
    elif status == 404:
        message = t["not_found"]
    else:
        message = (error.pesan if page.lang == "id" else error.message) + " " + t["nothing_written"]
    return page.html("error.html", status, title=t.get(f"error_{status}", t["error_title"]), message=message)


def _failure_page(page: Page, exc: Exception) -> Response:
    """An unexpected failure or a database that did not answer: logged (and given its status: 503 for the
    database, with Retry-After) by the API's own last resort, then said in the page's words."""
    fallback = internal_error_response(exc)
    extra = {"Retry-After": fallback.headers["Retry-After"]} if "Retry-After" in fallback.headers else None
    return page.html("error.html", fallback.status_code, headers=extra,
                     title=page.t.get(f"error_{fallback.status_code}", page.t["error_title"]),
                     message=page.t["retry_later"])


def _render_error(error: LaporError) -> Response:
    """Errors raised before a page's handler runs (an impossible report id, a control character in the query)."""
    return _error_page(_page_of(get_services()), error)


def page(method: str, path: str, operation_id: str, summary: str) -> Callable:
    """Declare a page: an endpoint that authenticates nobody (staff tokens are not read), answers HTML, and
    renders its own errors and failures as pages."""
    def decorate(handler: Callable[[Call, Page], Response]) -> Callable:
        def run(call: Call) -> Response:
            view = _page_of(call.services)
            try:
                return handler(call, view)
            except LaporError as error:
                return _error_page(view, error)
            except Exception as exc:  # noqa: BLE001 — a person gets a page, never a JSON error or a trace
                return _failure_page(view, exc)

        endpoint(method, path, operation_id, summary, audience="anyone (HTML page)", render_error=_render_error,
                 staff_auth=False)(run)
        PAGE_PATHS.add(path)
        return handler
    return decorate


# ------------------------------------------------------------------------------------------------ names

@dataclass(frozen=True)
class Names:
    """Reference ids as people read them."""

    reference: ReferenceData

    def institution(self, institution_id: str | None, unit_id: str | None = None) -> str:
        institution = self.reference.institution(institution_id) if institution_id else None
        if institution is None:
            return ""
        unit = institution.unit(unit_id) if unit_id else None
        return f"{unit.name}, {institution.name}" if unit else institution.name

    def category(self, category_id: str | None) -> str:
        category = self.reference.category(category_id) if category_id else None
        if category is None:
            return ""
        parent = self.reference.category(category.parent_id) if category.parent_id else None
        return f"{parent.name} \u203a {category.name}" if parent else category.name

    def region(self, code: str | None) -> str:
        region = self.reference.region(code) if code else None
        if region is None:
            return ""
        province = self.reference.region(region.province_code)
        return region.name if region.level == "province" or province is None else f"{region.name}, {province.name}"


def _choices(reference: ReferenceData) -> dict[str, Any]:
    """The form's option lists: categories and kabupaten/kota grouped under their parents (no JavaScript)."""
    return {"categories": [(top, reference.children_of(top.id)) for top in reference.top_level_categories()],
            "regions": [(province, reference.regions_in(province.code)) for province in reference.provinces()],
            "institutions": sorted(reference.institutions.values(), key=lambda i: i.name)}


# ------------------------------------------------------------------------------------------------ static

@endpoint("GET", "/static/lapor.css", "webStylesheet", "The pages' stylesheet (text/css)",
          audience="anyone (stylesheet)", render_error=_render_error, staff_auth=False)
def web_stylesheet(call: Call) -> Response:
    return stylesheet_response()


PAGE_PATHS.add("/static/lapor.css")


# ------------------------------------------------------------------------------------------------ Lapor

def _lapor_form(call: Call, page: Page, *, status: int = 200, values: dict[str, str] | None = None,
                errors: dict[str, str] | None = None, key: str | None = None, uploads: tuple[str, ...] = ()) -> Response:
    """The form. With photos on, a hidden picker that foto.js reveals and fills (uploads first, then the form
    carries their upload ids); without JavaScript the page says photos are added on the receipt. Uploads already
    made before a refused submission stay with the form, so nobody uploads twice."""
    storage = photo_forms.storage_of(call)
    return page.html("lapor.html", status, values=values or {"type": "complaint"}, errors=errors or {},
                     key=key, switch=None if values is not None else page.switch_url("/"),
                     photos=photo_forms.LIMITS if storage else None, uploads=uploads,
                     script=page.url("/static/foto.js", v=photo_forms.script_digest()) if storage else None,
                     headers=photo_forms.policy(storage, script=True), **_choices(call.services.reference))


@page("GET", "/", "webReportForm", "Lapor: the report form (HTML)")
def report_form(call: Call, page: Page) -> Response:
    return _lapor_form(call, page)


@page("POST", "/", "webSubmitReport", "Lapor: submit the form (HTML receipt with the tracking id and token)")
def submit_form(call: Call, page: Page) -> Response:
    form = page.form(call.raw_body, call.headers.get("content-type"))
    key = form.get("idem") or None
    uploads = tuple(dict.fromkeys(upload for upload in parse_form_body(
        call.raw_body, call.headers.get("content-type")).get("photo_upload_id", []) if UPLOAD_ID.fullmatch(upload)))
    try:
        body = forms.checked_submission(forms.submission_of(form, uploads))
        receipt = submit_report(_as_api_call(call, "submitReport", body, key))
    except (ValidationFailed, UnknownReference, IdempotencyKeyReused) as refused:
        fields = forms.field_errors(refused, page.lang)
        return _lapor_form(call, page, status=status_of(refused), values=form, key=key, errors=fields,
                           uploads=() if "photos" in fields else uploads[:MAX_PHOTOS])
    zone = zone_of(body, call.services.reference)
    attached = receipt.get("events", []).count("PhotoAttached")
    storage = photo_forms.storage_of(call)
    return page.html("receipt.html", 201, receipt=receipt, zone=zone, attached=attached,
                     photo_form=photo_forms.upload_form(call, page, receipt["report_id"], attached),
                     photos=photo_forms.LIMITS, headers=photo_forms.policy(storage, upload=True))


def _as_api_call(call: Call, operation_id: str, body: dict[str, Any], key: str | None, *,
                 principal: Principal | None = None) -> Call:
    """This request as the JSON API's route sees it: the same operation (so the same idempotency fingerprint),
    the validated body, the form's idempotency key as the Idempotency-Key header."""
    headers = {k: v for k, v in call.headers.items() if k != "idempotency-key"}
    if key:
        headers["idempotency-key"] = key
    return dataclasses.replace(call, operation_id=operation_id, body=body, headers=headers,
                               principal=principal or call.principal)


# ------------------------------------------------------------------------------------------------ Lacak

@dataclass(frozen=True)
class Action:
    """A reporter's action: the JSON API route it runs, its body's declaration, and a probe command that asks
    the aggregate whether the action is open now (its text is irrelevant to the rules it meets)."""

    slug: str
    operation_id: str
    route: Callable[[Call], dict[str, Any]]
    schema: Schema
    probe: Callable[[Principal], c.Command]
    done: str  # the text key of its confirmation


ACTIONS = {action.slug: action for action in (
    Action("balas", "replyToReport", reply_to_report, MESSAGE,
           lambda p: c.ReplyToReport(principal=p, message="?"), "done_reply"),
    Action("terima", "acceptResolution", accept_resolution, ACCEPT,
           lambda p: c.AcceptResolution(principal=p, rating=5, comment=None), "done_accept"),
    Action("keberatan", "objectToResolution", object_to_resolution, REASON,
           lambda p: c.ObjectToResolution(principal=p, reason="?"), "done_object"),
    Action("ombudsman", "escalateToOmbudsman", escalate_to_ombudsman, REASON,
           lambda p: c.EscalateToOmbudsman(principal=p, reason="?"), "done_escalate"),
)}


def _reporter(services: Services, token: str) -> Principal:
    return principal_from_headers({"x-report-token": token}, services.verifier)


def _token_in(page: Page) -> str | None:
    token = page.cookies.get(TOKEN_COOKIE, "")
    return token if 0 < len(token) <= _MAX_TOKEN and token.isprintable() else None


def _token_cookie(page: Page, report_id: str, token: str, *, forget: bool = False) -> str:
    return cookie(TOKEN_COOKIE, "" if forget else token, path=page.url(f"/lacak/{report_id}"), secure=page.secure,
                  max_age=0 if forget else None)


def _owned_state(services: Services, report_id: str, principal: Principal) -> ReportState | None:
    """The report's state from its own events (one Query), when this principal is its reporter: for a report
    so new that its view is not projected yet."""
    state = services.commands.load_state(report_id)
    return state if state.status != Status.NEW and is_own_reporter(principal, state.exposure) else None


def _fresh_view(services: Services, report_id: str, at_least: int) -> dict[str, Any] | None:
    """The report view, waiting briefly for the stream to bring it to `at_least` (the version an action just
    wrote): after POST-redirect-GET a person should see what they did. Bounded; the page says if it lags."""
    view = services.views.get(report_id)
    deadline = time.monotonic() + _FRESH_WAIT_SECONDS
    while (view is None or view["version"] < at_least) and at_least and time.monotonic() < deadline:
        time.sleep(_FRESH_POLL_SECONDS)
        view = services.views.get(report_id)
    return view


def _track_form(page: Page, *, status: int = 200, report_id: str = "", mismatch: bool = False,
                cookies: tuple[str, ...] = ()) -> Response:
    page.set_cookies.extend(cookies)
    return page.html("lacak_form.html", status, report_id=report_id, mismatch=mismatch,
                     switch=page.switch_url("/lacak") if status == 200 else None)


@page("GET", "/lacak", "webTrackForm", "Lacak: the tracking form (HTML)")
def track_form(call: Call, page: Page) -> Response:
    return _track_form(page)


@page("POST", "/lacak", "webTrack", "Lacak: check the tracking id and token, keep the token in a cookie, redirect")
def track(call: Call, page: Page) -> Response:
    form = page.form(call.raw_body, call.headers.get("content-type"))
    report_id, token = form.get("report_id", "").strip().upper(), form.get("token", "").strip()
    try:
        check_path_ids({"report_id": report_id})
    except ReportNotFound:
        return _track_form(page, status=404, report_id=report_id[:40], mismatch=True)
    if not token or len(token) > _MAX_TOKEN or not token.isprintable():
        return _track_form(page, status=404, report_id=report_id, mismatch=True)
    principal = _reporter(call.services, token)
    view = call.services.views.get(report_id)
    owned = (is_own_reporter(principal, exposure_of(view)) if view is not None
             else _owned_state(call.services, report_id, principal) is not None)
    if not owned:  # a wrong token and an unknown id read the same: nothing is learnt about the report
        return _track_form(page, status=404, report_id=report_id, mismatch=True)
    return page.redirect(page.url(f"/lacak/{report_id}"), cookies=(_token_cookie(page, report_id, token),))


@page("GET", "/lacak/{report_id}", "webTrackReport", "Lacak: the reporter's page of one report (HTML)")
def track_report(call: Call, page: Page) -> Response:
    report_id = call.params["report_id"]
    token = _token_in(page)
    if token is None:
        return _track_form(page, report_id=report_id)
    principal = _reporter(call.services, token)
    asked = call.query.get("v", "")
    at_least = int(asked) if re.fullmatch(r"[0-9]{1,6}", asked) else 0
    view = _fresh_view(call.services, report_id, at_least)
    if view is None and _owned_state(call.services, report_id, principal) is not None:
        return page.html("processing.html", report_id=report_id)
    if view is None or not is_own_reporter(principal, exposure_of(view)):
        return _track_form(page, status=404, report_id=report_id, mismatch=True,
                           cookies=(_token_cookie(page, report_id, "", forget=True),))
    done = (ACTIONS[call.query["ok"]].done if call.query.get("ok") in ACTIONS
            else "done_photo" if call.query.get("ok") == "foto" else None)
    return _tracking_page(call, page, view, principal, done=done, stale=view["version"] < at_least)


def _tracking_page(call: Call, page: Page, view: dict[str, Any], principal: Principal, *, status: int = 200,
                   done: str | None = None, stale: bool = False, failed: str | None = None,
                   values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                   refusal: str | None = None, key: str | None = None) -> Response:
    services = call.services
    shown = present_report(view, principal)
    state = state_from_json(view["state"])
    context = Context(now=call.now, calendar=services.calendar, reference=services.reference)
    zone = zone_of(shown, services.reference)
    storage = photo_forms.storage_of(call)
    photo_form = (photo_forms.upload_form(call, page, shown["report_id"], len(state.photos))
                  if _photo_open(state, principal, context) else None)
    return page.html(
        "lacak.html", status, report=shown, zone=zone, names=Names(services.reference),
        deadline=_running_deadline(state, shown, call, zone), history=_history(shown, with_reporter=True),
        actions=_open_actions(state, principal, context), done=done, stale=stale, failed=failed,
        values=values or {}, errors=errors or {}, refusal=refusal, key=key,
        photos=photo_forms.with_thumbnail_sizes(shown["photos"]), photo_form=photo_form, limits=photo_forms.LIMITS,
        headers=photo_forms.policy(storage, upload=photo_form is not None, images=bool(shown["photos"])),
        switch=page.switch_url(f"/lacak/{shown['report_id']}") if status == 200 else None)


_PROBE_PHOTO = c.PhotoFacts(attachment_id="FOTO-" + "0" * 20, sha256="0" * 64, size=1, content_type=PHOTO_TYPES[0],
                            width=1, height=1)


def _photo_open(state: ReportState, principal: Principal, context: Context) -> bool:
    """Whether the aggregate would take one more photo from this reporter now (nothing is written)."""
    try:
        decide(state, c.AttachPhoto(principal=principal, photo=_PROBE_PHOTO), context)
    except LaporError:
        return False
    return True


def _open_actions(state: ReportState, principal: Principal, context: Context) -> list[str]:
    """The reporter's actions the aggregate would take now (`decide` is pure: nothing is written)."""
    open_now = []
    for slug, action in ACTIONS.items():
        try:
            decide(state, action.probe(principal), context)
        except LaporError:
            continue
        open_now.append(slug)
    return open_now


def _running_deadline(state: ReportState, shown: dict[str, Any], call: Call, zone: str) -> dict[str, Any] | None:
    """The deadline the report waits on now (the domain's `next_due`), by name, with working days to go."""
    due = next_due(state)
    if due is None:
        return None
    deadlines = shown.get("deadlines") or {}
    name = next((n for n in ("reply", "follow_up", "resolution", "verification") if deadlines.get(n) == due),
                "resolution")
    calendar, due_at = call.services.calendar, parse_instant(due)
    if call.now <= due_at:
        days, over = calendar.working_days_between(call.now, due_at, zone), False
    else:
        days, over = calendar.working_days_between(due_at, call.now, zone), True
    return {"name": name, "at": due, "days": days, "over": over}


def _history(shown: dict[str, Any], *, with_reporter: bool) -> list[dict[str, Any]]:
    """The institution's follow-ups — and, on the reporter's own page, what the reporter wrote — in time order."""
    entries = [{"at": f["at"], "kind": "final" if f.get("final") else "follow_up", "by": f.get("by") or {},
                "message": f["message"]} for f in shown.get("follow_ups", [])]
    if with_reporter:
        entries += [{"at": r["at"], "kind": "reply", "by": {}, "message": r["message"]}
                    for r in shown.get("replies", [])]
        entries += [{"at": o["at"], "kind": "objection", "by": {}, "message": o["reason"]}
                    for o in shown.get("objections", [])]
    return sorted(entries, key=lambda entry: entry["at"])


def _refusal(page: Page, refused: LaporError, view: dict[str, Any]) -> str:
    """Why the report's state refused the action, in the page's words where the domain's are an English verb."""
    if isinstance(refused, InvalidTransition):
        return page.t["refused_state"].format(status=page.t[f"status_{view['status']}"])
    return refused.pesan if page.lang == "id" else refused.message


def _declare_action(action: Action) -> None:
    @page("POST", f"/lacak/{{report_id}}/{action.slug}", f"webTrack{action.operation_id[0].upper()}"
          f"{action.operation_id[1:]}", f"Lacak: {action.operation_id} from the reporter's page (HTML, redirects)")
    def act(call: Call, page: Page) -> Response:
        report_id = call.params["report_id"]
        form = page.form(call.raw_body, call.headers.get("content-type"))
        token = _token_in(page)
        if token is None:
            return _track_form(page, status=401, report_id=report_id)
        principal, key = _reporter(call.services, token), form.get("idem") or None
        body = forms.body_of(form, action.schema)
        try:
            result = action.route(_as_api_call(call, action.operation_id, validate(body, action.schema), key,
                                               principal=principal))
        except (ReportNotFound, Unauthenticated, Forbidden):
            return _track_form(page, status=404, report_id=report_id, mismatch=True)
        except (ValidationFailed, UnknownReference, IdempotencyKeyReused, InvalidTransition, RuleViolated,
                ConcurrencyConflict) as refused:
            view = call.services.views.get(report_id)
            if view is None or not is_own_reporter(principal, exposure_of(view)):
                raise
            fields = isinstance(refused, (ValidationFailed, UnknownReference))  # else a rule of the report's state
            refusal = None if fields else _refusal(page, refused, view)
            return _tracking_page(call, page, view, principal, status=status_of(refused), failed=action.slug,
                                  values=form, errors=forms.field_errors(refused, page.lang) if fields else {},
                                  refusal=refusal, key=key)
        return page.redirect(page.url(f"/lacak/{report_id}", v=str(result["version"]), ok=action.slug))


for _action in ACTIONS.values():
    _declare_action(_action)


@page("POST", "/lacak/{report_id}/lupakan", "webTrackForget", "Lacak: forget the report's token on this device")
def forget_token(call: Call, page: Page) -> Response:
    page.form(call.raw_body, call.headers.get("content-type"))
    return page.redirect(page.url("/lacak"), cookies=(_token_cookie(page, call.params["report_id"], "", forget=True),))


# ------------------------------------------------------------------------------------------------ public

@page("GET", "/laporan", "webPublicReports", "Laporan publik: the public list, filtered and paged (HTML)")
def public_reports(call: Call, page: Page) -> Response:
    filters = {name: call.query[name] for name in ("region", "institution", "category") if call.query.get(name)}
    try:
        listed = list_public_reports(call)  # the JSON API's own query: one index, one filter, signed cursors
        status, problem = 200, None
    except LaporError as refused:
        listed, status = {"reports": [], "next_cursor": None}, status_of(refused)
        problem = refused.pesan if page.lang == "id" else refused.message
    reference = call.services.reference
    rows = [row | {"zone": zone_of(row, reference), "bucket": row.get("bucket") or PUBLIC_BUCKETS.get(row["status"])}
            for row in listed["reports"]]
    next_url = (page.url("/laporan", **filters, cursor=listed["next_cursor"]) if listed.get("next_cursor") else None)
    return page.html("laporan_list.html", status, rows=rows, filters=filters, problem=problem, next_url=next_url,
                     paged="cursor" in call.query, names=Names(reference), switch=page.switch_url("/laporan"),
                     **_choices(reference))


@page("GET", "/laporan/{report_id}", "webPublicReport", "Laporan publik: one report as the public may see it (HTML)")
def public_report(call: Call, page: Page) -> Response:
    report_id = call.params["report_id"]
    shown = present_report(call.services.views.get(report_id), ANONYMOUS_PUBLIC)
    if shown is None:
        raise ReportNotFound(report_id)
    reference = call.services.reference
    storage = photo_forms.storage_of(call)
    return page.html("laporan.html", report=shown, zone=zone_of(shown, reference), names=Names(reference),
                     history=_history(shown, with_reporter=False), photos=photo_forms.with_thumbnail_sizes(shown["photos"]),
                     headers=photo_forms.policy(storage, images=bool(shown["photos"])),
                     switch=page.switch_url(f"/laporan/{report_id}"))


# ------------------------------------------------------------------------------------------------ photos

@page("GET", "/lacak/{report_id}/foto-tiba", "webPhotoLanded",
      "Lacak: where the bucket sends the browser after an upload; attaches it (once) by its signed ticket (HTML)")
def photo_landed(call: Call, page: Page) -> Response:
    """S3's redirect after a page's upload. In AWS the bucket is another site, so the reporter's cookie is not
    sent here: the ticket in the URL (signed, for this report and this upload, short-lived) is the authority.
    A reload attaches nothing more (exactly once per upload). The link back is a same-site navigation, so the
    reporter's cookie goes with it."""
    report_id = call.params["report_id"]
    try:
        ticket = tickets.check(call.services.settings.token_secret, call.query.get("tiket"), report_id, call.now)
        if call.query.get("key") not in (None, upload_key(ticket.upload_id)):
            raise ValidationFailed("this upload link is not valid", "tautan unggahan ini tidak sah", field="tiket")
        state = call.services.commands.load_state(report_id)
        owner = Principal(role=Role.REPORTER, report_token_hash=state.access_token_hash)  # the ticket vouches
        result = attach_upload(call, report_id, ticket.upload_id, owner, state=state)
    except (ValidationFailed, RuleViolated, InvalidTransition, ReportNotFound) as refused:
        message = refused.pesan if page.lang == "id" else refused.message
        if isinstance(refused, InvalidTransition):
            message = page.t["photo_refused_state"]
        return page.html("foto_tiba.html", status_of(refused), report_id=report_id, problem=message, count=0,
                         version=0, again=False, max_photos=MAX_PHOTOS)
    again = not result["events"]
    return page.html("foto_tiba.html", 200 if again else 201, report_id=report_id, problem=None,
                     count=len(state.photos) + (0 if again else 1), version=result["version"], again=again,
                     max_photos=MAX_PHOTOS)


@page("GET", "/lacak/{report_id}/foto/{attachment_id}", "webReporterPhoto",
      "Lacak: one of the reporter's photos (302 to a short-lived URL; ?ukuran=kecil: the thumbnail)")
def reporter_photo(call: Call, page: Page) -> Response:
    report_id, token = call.params["report_id"], _token_in(page)
    storage = photo_forms.storage_of(call)
    principal = _reporter(call.services, token) if token else None
    view = call.services.views.get(report_id) if principal and storage else None
    photo = (find_photo(view, call.params["attachment_id"], principal)
             if view is not None and is_own_reporter(principal, exposure_of(view)) else None)
    if photo is None:
        raise ReportNotFound(report_id)
    return photo_redirect(storage, photo, thumbnail=call.query.get("ukuran") == "kecil")

