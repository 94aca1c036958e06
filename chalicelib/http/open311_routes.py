"""Open311 GeoReport v2 under /open311/v2/ (chalicelib/open311), and the national admin's API-key routes.

API Gateway path parameters are whole segments, so `services.json` and `services.xml` are two literal routes
and `requests/{request_file}` takes `LAP-XXXXXXXXXX.json` and splits off the format itself. Every error of
an Open311 route — including those raised before the route runs — is the spec's `[{code, description}]`
in the format asked for. GETs are keyless (A.1); an Authorization header is not read on these routes.
"""
from __future__ import annotations

import urllib.parse
from dataclasses import replace
from typing import Any, Callable

from chalice import Response

from chalicelib.clock import iso
from chalicelib.domain import commands as c
from chalicelib.domain.vocabulary import Role
from chalicelib.errors import LaporError, NotFound
from chalicelib.http.cursor import decode_cursor, encode_cursor
from chalicelib.http.endpoint import Call, api, endpoint
from chalicelib.http.routes import LOCATION, checked_personal_data, require_role
from chalicelib.http.validation import Field, parse_form_body
from chalicelib.open311 import mapping as m
from chalicelib.open311 import reads
from chalicelib.open311.formats import error_response, render
from chalicelib.services.handlers import fingerprint
from chalicelib.store.api_keys import DEFAULT_RATE_PER_MINUTE, MAX_RATE_PER_MINUTE, api_keys_of

BASE = "/open311/v2"
REQUEST_QUERY = ("jurisdiction_id", "service_request_id", "service_code", "start_date", "end_date", "status",
                 "page", "page_size")


def _errors_in(fmt: str) -> Callable[[LaporError], Response]:
    return lambda error: error_response(fmt, error)


def _split(file: str) -> tuple[str, str]:
    """`LAP-XXXXXXXXXX.json` -> (`LAP-XXXXXXXXXX`, `json`); 404 for a format the spec does not have."""
    stem, dot, fmt = file.rpartition(".")
    if not dot or fmt not in m.FORMATS:
        raise NotFound(f"no such resource {file[:100]!r}: add .json or .xml",
                       f"sumber {file[:100]!r} tidak ada: tambahkan .json atau .xml")
    return stem, fmt


def _errors_in_file_format(param: str) -> Callable[[LaporError], Response]:
    """For `{param}` routes the format is the file name's extension; XML, the spec's mandatory one, if none."""
    def render_error(error: LaporError) -> Response:
        file = (api.current_request.uri_params or {}).get(param, "")
        fmt = file.rpartition(".")[2]
        return error_response(fmt if fmt in m.FORMATS else "xml", error)
    return render_error


def _both_formats(method: str, stem: str, operation_id: str, summary: str, **options: Any) -> Callable:
    """Declare `{BASE}/{stem}.json` and `.xml`; the handler gets the call and the format."""
    def decorate(handler: Callable[[Call, str], Response]) -> Callable:
        for fmt in m.FORMATS:
            endpoint(method, f"{BASE}/{stem}.{fmt}", f"{operation_id}{fmt.capitalize()}",
                     f"{summary} ({fmt.upper()})", render_error=_errors_in(fmt), staff_auth=False,
                     **options)(lambda call, fmt=fmt: handler(call, fmt))
        return handler
    return decorate


def _jurisdiction(call: Call) -> None:
    m.check_jurisdiction(call.query.get("jurisdiction_id"))


# ----------------------------------------------------------------------------------------- discovery

@_both_formats("GET", "discovery", "open311Discovery", "Open311 service discovery")
def discovery(call: Call, fmt: str) -> Response:
    public_url = call.services.settings.public_url
    if public_url:
        url = public_url + BASE
    else:  # as the client called us: with API Gateway's stage prefix, if any
        prefix = call.path.removesuffix(f"/discovery.{fmt}") if call.path.endswith(f"/discovery.{fmt}") else BASE
        host = call.headers.get("host")
        url = f"{call.headers.get('x-forwarded-proto', 'http')}://{host}{prefix}" if host else prefix
    return render(fmt, "discovery", m.discovery(url, call.services.settings.stage))


# ------------------------------------------------------------------------------------------ services

@_both_formats("GET", "services", "open311Services", "Open311 GET Service List: the category tree's leaves",
               query=("jurisdiction_id",))
def list_services(call: Call, fmt: str) -> Response:
    _jurisdiction(call)
    return render(fmt, "services", m.services(call.services.reference))


@endpoint("GET", BASE + "/services/{service_file}", "open311ServiceDefinition",
          "Open311 GET Service Definition: services/{service_code}.json or .xml", query=("jurisdiction_id",),
          render_error=_errors_in_file_format("service_file"), staff_auth=False)
def service_definition(call: Call) -> Response:
    code, fmt = _split(call.params["service_file"])
    _jurisdiction(call)
    return render(fmt, "service_definition", m.service_definition(call.services.reference, code))


# ------------------------------------------------------------------------------------------ requests

@_both_formats("POST", "requests", "open311PostRequest",
               "Open311 POST Service Request (form-encoded, api_key required): answers a token",
               status=201, idempotent_key=True, query=("jurisdiction_id", "api_key"))
def post_request(call: Call, fmt: str) -> Response:
    form = parse_form_body(call.raw_body, call.headers.get("content-type"))
    m.check_jurisdiction(m.single(form, "jurisdiction_id") or call.query.get("jurisdiction_id"))
    keys = api_keys_of(call.services)
    # The spec's example sends api_key in the body, its Swagger file in the query: both are taken.
    key = keys.authenticate(m.single(form, "api_key") or call.query.get("api_key"))
    submission = m.parse_submission(form, call.services.reference, LOCATION)
    personal = checked_personal_data(submission.personal)  # the JSON API's checks: E.164 phone, e-mail shape
    keys.count_request(key, call.now)  # after every check: a refused request counts nothing, writes nothing
    command = c.SubmitReport(
        principal=call.principal, title=submission.title, body=submission.body, report_type=submission.report_type,
        category_id=submission.category_id, region_code=submission.region_code,
        addressed_institution_id=submission.institution_id, anonymous=submission.anonymous,
        confidential=submission.confidential, channel="open311", channel_detail=key.name, reporter_ref=None,
        access_token_hash="", location=submission.location or None)
    # A retry with the same Idempotency-Key is the same request only from the same app with the same form.
    sent = sorted((name, values) for name, values in form.items() if name != "api_key")
    request = replace(call.request(), fingerprint=fingerprint(call.operation_id, [key.key_id, sent]))
    # The personal data goes only to the personal-data record; the reporter's LAPOR access token in the result
    # is not passed on: Open311 has no place for it (the report closes by its reply window, DOMAIN §6).
    created = call.services.commands.submit(command, request, personal)
    token = m.issue_token(call.services.settings.token_secret, created["report_id"])
    return render(fmt, "service_requests", [{"token": token, "service_notice": m.submit_notice(submission.ignored)}],
                  status=201)


def _next_link(call: Call, query: m.RequestQuery, cursor: str | None) -> dict[str, str]:
    """RFC 8288 `Link: <…>; rel="next"`, with the window made explicit so the cursor's scope holds."""
    if cursor is None:
        return {}
    params = {name: value for name, value in call.query.items() if name not in ("page", "start_date", "end_date")}
    params |= {"start_date": iso(query.start), "end_date": iso(query.end), "page": cursor}
    return {"Link": f'<{call.path or BASE}?{urllib.parse.urlencode(params)}>; rel="next"'}


def _cursor_scope(query: m.RequestQuery) -> str:
    return "open311|" + "|".join((",".join(query.service_codes), ",".join(sorted(query.statuses)),
                                  iso(query.start), iso(query.end)))


@_both_formats("GET", "requests", "open311GetRequests",
               "Open311 GET Service Requests: public reports, newest first; 90-day window; page_size and the "
               "Link header's page token page further", query=REQUEST_QUERY)
def get_requests(call: Call, fmt: str) -> Response:
    _jurisdiction(call)
    query = m.parse_request_query(call.query, call.services.reference, call.now)
    if query.ids is not None:  # overrides every other argument (A.2)
        return render(fmt, "service_requests", reads.requests_by_id(call.services, query.ids))
    scope, secret = _cursor_scope(query), call.services.settings.token_secret
    records, next_key = reads.request_page(call.services, query, decode_cursor(query.page, scope, secret))
    return render(fmt, "service_requests", records,
                  headers=_next_link(call, query, encode_cursor(next_key, scope, secret)))


@endpoint("GET", BASE + "/requests/{request_file}", "open311GetRequest",
          "Open311 GET Service Request: requests/{service_request_id}.json or .xml (a one-element list)",
          query=("jurisdiction_id",), render_error=_errors_in_file_format("request_file"), staff_auth=False)
def get_request(call: Call) -> Response:
    report_id, fmt = _split(call.params["request_file"])
    _jurisdiction(call)
    record = reads.public_request(call.services, report_id)
    if record is None:
        raise NotFound(f"service request {report_id[:40]!r} not found", f"laporan {report_id[:40]!r} tidak ada")
    return render(fmt, "service_requests", [record])


@endpoint("GET", BASE + "/tokens/{token_file}", "open311GetToken",
          "Open311 GET service_request_id from a token: tokens/{token}.json or .xml", query=("jurisdiction_id",),
          render_error=_errors_in_file_format("token_file"), staff_auth=False)
def get_token(call: Call) -> Response:
    token, fmt = _split(call.params["token_file"])
    _jurisdiction(call)
    report_id = m.report_of_token(call.services.settings.token_secret, token)
    if report_id is None:  # checked before any DynamoDB call
        raise NotFound("no such token", "token tidak ada")
    view = call.services.views.get(report_id)
    return render(fmt, "service_requests", [m.token_record(token, reads.shown_to_public(view), view)])


# -------------------------------------------------------------------------------------- API keys (admin)

NEW_KEY = {"name": Field(str, required=True, max_length=100,
                         description="the client app; recorded as the channel detail of every report it submits"),
           "rate_per_minute": Field(int, minimum=1, maximum=MAX_RATE_PER_MINUTE, default=DEFAULT_RATE_PER_MINUTE,
                                    description="POST requests a minute this key may make")}


@endpoint("POST", "/open311-keys", "createOpen311Key",
          "Issue an Open311 API key to a client app (the plain key is shown once; only its SHA-256 is kept)",
          body=NEW_KEY, status=201, audience=Role.ADMIN_NASIONAL)
def create_open311_key(call: Call) -> dict[str, Any]:
    require_role(call, (Role.ADMIN_NASIONAL,), "issuing Open311 keys")
    key, plain = api_keys_of(call.services).issue(call.body["name"], call.body["rate_per_minute"], call.now,
                                                  call.principal.user_id)
    return key.to_dict() | {"api_key": plain}


@endpoint("GET", "/open311-keys", "listOpen311Keys", "The Open311 API keys issued (never the keys themselves)",
          audience=Role.ADMIN_NASIONAL)
def list_open311_keys(call: Call) -> dict[str, Any]:
    require_role(call, (Role.ADMIN_NASIONAL,), "the Open311 keys")
    return {"keys": [key.to_dict() for key in api_keys_of(call.services).list()]}


@endpoint("POST", "/open311-keys/{key_id}/revocation", "revokeOpen311Key",
          "Revoke an Open311 API key: refused from its next request on", audience=Role.ADMIN_NASIONAL)
def revoke_open311_key(call: Call) -> dict[str, Any]:
    require_role(call, (Role.ADMIN_NASIONAL,), "revoking Open311 keys")
    return api_keys_of(call.services).revoke(call.params["key_id"], call.now, call.principal.user_id).to_dict()
