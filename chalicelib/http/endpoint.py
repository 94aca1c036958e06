"""One decorator turns a small function into a route: auth, parsing, validation, errors, OpenAPI entry.

Route functions receive a `Call` and return a JSON-able dict; they never touch Chalice or HTTP codes.

Every other method Chalice can route on a declared path is routed too, to `otherMethods`: API Gateway
answers a method it has no route for itself (403 MISSING_AUTHENTICATION_TOKEN, the same as an unknown path),
so only a routed method can get a real 405 with an Allow header. HEAD on a GET path is that GET (the HTTP
layer drops the content), OPTIONS is 204 with Allow; anything else is 405 `method_not_allowed`.
"""
from __future__ import annotations

import functools
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from chalice import Blueprint, Response

from chalicelib import observability
from chalicelib.auth import principal_from_headers
from chalicelib.bootstrap import Services, get_services
from chalicelib.domain.access import ANONYMOUS_PUBLIC, Principal
from chalicelib.domain.vocabulary import Role
from chalicelib.errors import LaporError, MethodNotAllowed, NotFound, ReportNotFound, ValidationFailed
from chalicelib.http.errors import JSON_HEADERS, error_response, internal_error_response
from chalicelib.http.validation import (
    Schema,
    check_header_text,
    check_query,
    parse_json_body,
    validate,
)
from chalicelib.services.handlers import Request, fingerprint

# What Chalice (and so API Gateway) can route, in the order the Allow header lists them.
ROUTABLE_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
OTHER_METHODS_VIEW = "otherMethods"  # the view name of the routes that are not operations (not in OpenAPI)

_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")
# Path ids that cannot exist are refused before any DynamoDB call (keys over 2 KB would even be a 500 there).
_PATH_IDS = {"report_id": (re.compile(r"LAP-[2-9A-HJ-NP-Z]{10}"), "report"),
             "reporter_ref": (re.compile(r"RPT-[0-9a-f]{24}"), "reporter"),
             "institution_id": (re.compile(r"[a-z0-9][a-z0-9-]{0,99}"), "institution"),
             "region_code": (re.compile(r"[0-9A-Z]{2}(\.[0-9]{2}){0,3}"), "region")}


def check_path_ids(params: dict[str, str]) -> None:
    for name, value in params.items():
        pattern, kind = _PATH_IDS.get(name, (None, None))
        if pattern is not None and not pattern.fullmatch(value):
            if kind == "report":
                raise ReportNotFound(value[:40])
            raise NotFound(f"no {kind} {value[:40]!r}", f"{kind} {value[:40]!r} tidak ada")


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    summary: str
    body: Schema | None
    status: int
    audience: str  # who may call it, for the docs
    idempotent_key: bool
    query: tuple[str, ...]


OPERATIONS: list[Operation] = []
_VIEWS: dict[tuple[str, str], Callable[..., Response]] = {}  # (path, method) -> the route's view


def allowed_methods(path: str) -> tuple[str, ...]:
    """What the Allow header says for a declared path: its operations, HEAD where GET is, and OPTIONS."""
    declared = {op.method for op in OPERATIONS if op.path == path}
    if "GET" in declared:
        declared.add("HEAD")
    declared.add("OPTIONS")
    return tuple(method for method in ROUTABLE_METHODS if method in declared)


def _other_methods_view(path: str) -> Callable[..., Response]:
    def answer(method: str, params: dict[str, str]) -> Response:
        try:
            allowed = allowed_methods(path)
            if method == "OPTIONS":
                return Response(body="", status_code=204, headers={"Allow": ", ".join(allowed)})
            return error_response(MethodNotAllowed(method, path, allowed))
        except Exception as exc:  # noqa: BLE001 — the contract is JSON errors, never Chalice's own 500
            return internal_error_response(exc)

    def view(**params: str) -> Response:
        method = api.current_request.method
        if method == "HEAD" and (path, "GET") in _VIEWS:  # that GET, whose view does all of what follows
            return _VIEWS[(path, "GET")](**params)
        started, correlation_id = time.perf_counter(), _correlation_id_of(api.current_request)
        with observability.invocation(OTHER_METHODS_VIEW, correlation_id, _settings, _lambda_context()):
            response = answer(method, params)
            observability.log_request(OTHER_METHODS_VIEW, method, response.status_code, time.perf_counter() - started)
        return with_correlation_id(response, correlation_id)

    view.__name__ = OTHER_METHODS_VIEW
    return view


def _correlation_id_of(request: Any) -> str:
    """The request's X-Correlation-Id when it is short and safe, else a new one (observability.py)."""
    raw = next((value for name, value in (request.headers or {}).items() if name.lower() == "x-correlation-id"),
               None)
    return observability.correlation_id_from(raw)


def with_correlation_id(response: Response, correlation_id: str) -> Response:
    """Every answer says which correlation id its request ran (and its events were recorded) under. A copy of
    the headers: routes may hand in a shared dict (JSON_HEADERS)."""
    response.headers = {**(response.headers or {}), observability.CORRELATION_HEADER: correlation_id}
    return response


def _settings() -> Any:
    return get_services().settings


def _lambda_context() -> Any:
    try:
        return api.lambda_context
    except Exception:  # noqa: BLE001 — outside Lambda (the local server) there may be none
        return None


class _Api(Blueprint):
    """The blueprint of every endpoint. Routes for the methods a path lacks are added when it is registered
    on the app: only then are all the modules' declarations known (Chalice refuses a method twice)."""

    _others_routed = False

    def register(self, app: Any, options: dict[str, Any]) -> None:
        if not self._others_routed:
            self._others_routed = True
            for path in dict.fromkeys(op.path for op in OPERATIONS):
                declared = {op.method for op in OPERATIONS if op.path == path}
                others = [method for method in ROUTABLE_METHODS if method not in declared]
                self.route(path, methods=others, content_types=["*/*"])(_other_methods_view(path))
        super().register(app, options)


api = _Api(__name__)


@dataclass(frozen=True)
class Call:
    services: Services
    principal: Principal
    body: dict[str, Any]
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    now: datetime
    operation_id: str
    raw_body: bytes = b""  # exactly as received: webhook signatures are computed over it; form posts parse it
    path: str = ""  # as the client called it (with API Gateway's stage prefix), e.g. for signed URLs
    correlation_id: str = ""  # this request's (observability.py): echoed in the answer, recorded in its events

    def request(self) -> Request:
        key = self.headers.get("idempotency-key")
        if key is not None and not _IDEMPOTENCY_KEY.match(key):
            raise ValidationFailed("Idempotency-Key must be 8-128 characters of A-Z a-z 0-9 . _ : -",
                                   "Idempotency-Key harus 8-128 karakter A-Z a-z 0-9 . _ : -",
                                   field="Idempotency-Key")
        sent = self.headers.get("x-correlation-id")
        if sent is not None:  # a control character is bad input, refused; any other unsafe id is replaced
            check_header_text("X-Correlation-Id", sent)
        correlation_id = self.correlation_id or observability.correlation_id_from(sent)
        return Request(now=self.now, correlation_id=correlation_id, idempotency_key=key,
                       fingerprint=fingerprint(self.operation_id, [self.params, self.body]))


def endpoint(method: str, path: str, operation_id: str, summary: str, *, body: Schema | None = None,
             status: int = 200, audience: str = Role.PUBLIC, idempotent_key: bool = False,
             query: tuple[str, ...] = (),
             render_error: Callable[[LaporError], Response] | None = None, staff_auth: bool = True) -> Callable:
    """A route may return a chalice `Response` of its own (another format than JSON), and `render_error` may
    render this route's errors in its protocol's shape (Open311, a gateway's) — with the status the one
    mapping in chalicelib/http/errors.py gives them. `staff_auth=False`: the route authenticates its callers
    itself (a gateway's signature or Basic secret), so an Authorization header is not read as a staff JWT."""
    def decorate(fn: Callable[[Call], Any]) -> Callable:
        OPERATIONS.append(Operation(operation_id, method, path, summary, body, status, audience,
                                    idempotent_key, query))

        def answer(params: dict[str, str], correlation_id: str) -> tuple[Response, str | None]:
            """The route's answer, and the error code it refused with (for the request's log line)."""
            try:
                request = api.current_request
                services = get_services()
                headers = {k.lower(): v for k, v in (request.headers or {}).items()}
                principal = principal_from_headers(headers, services.verifier) if staff_auth else ANONYMOUS_PUBLIC
                check_path_ids(params)
                query = dict(request.query_params or {})
                check_query(query)
                payload: dict[str, Any] = {}
                if body is not None:
                    payload = validate(parse_json_body(request.raw_body, headers.get("content-type")), body)
                call = Call(services=services, principal=principal, body=payload, params=params,
                            query=query, headers=headers, now=services.clock(), operation_id=operation_id,
                            raw_body=request.raw_body or b"",
                            path=(request.context or {}).get("path") or "", correlation_id=correlation_id)
                result = fn(call)
            except LaporError as exc:
                return (render_error(exc) if render_error else error_response(exc)), exc.code
            except Exception as exc:  # noqa: BLE001 — the contract is JSON errors, never an HTML 500 or a trace
                return internal_error_response(exc), "internal_error"
            if isinstance(result, Response):  # another format than JSON (XML, a gateway's reply)
                return result, None
            if isinstance(result, str):  # a page for people (only the local /dev/outbox)
                return Response(body=result, status_code=status,
                                headers={"Content-Type": "text/html; charset=utf-8"}), None
            return Response(body=json.dumps(result), status_code=status, headers=JSON_HEADERS), None

        @functools.wraps(fn)
        def view(**params: str) -> Response:
            started, correlation_id = time.perf_counter(), _correlation_id_of(api.current_request)
            with observability.invocation(operation_id, correlation_id, _settings, _lambda_context()):
                response, code = answer(params, correlation_id)
                observability.log_request(operation_id, method, response.status_code, time.perf_counter() - started,
                                          code)
            return with_correlation_id(response, correlation_id)

        view.__name__ = operation_id
        _VIEWS[(path, method)] = view
        api.route(path, methods=[method], content_types=["*/*"])(view)
        return fn

    return decorate
