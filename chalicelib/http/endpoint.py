"""One decorator turns a small function into a route: auth, parsing, validation, errors, OpenAPI entry.

Route functions receive a `Call` and return a JSON-able dict; they never touch Chalice or HTTP codes.
"""
from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from chalice import Blueprint, Response

from chalicelib.auth import Principal, principal_from_headers
from chalicelib.bootstrap import Services, get_services
from chalicelib.errors import LaporError, NotFound, ReportNotFound, ValidationFailed
from chalicelib.handlers import Request, fingerprint
from chalicelib.http.errors import JSON_HEADERS, error_response, internal_error_response
from chalicelib.http.validation import Schema, parse_json_body, validate

api = Blueprint(__name__)

_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")
# Path ids that cannot exist are refused before any DynamoDB call (keys over 2 KB would even be a 500 there).
_PATH_IDS = {"report_id": (re.compile(r"LAP-[2-9A-HJ-NP-Z]{10}"), "report"),
             "reporter_ref": (re.compile(r"RPT-[0-9a-f]{24}"), "reporter"),
             "institution_id": (re.compile(r"[a-z0-9][a-z0-9-]{0,99}"), "institution"),
             "region_code": (re.compile(r"[0-9A-Z]{2}(\.[0-9]{2}){0,3}"), "region")}


def _check_path_ids(params: dict[str, str]) -> None:
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

    def request(self) -> Request:
        key = self.headers.get("idempotency-key")
        if key is not None and not _IDEMPOTENCY_KEY.match(key):
            raise ValidationFailed("Idempotency-Key must be 8-128 characters of A-Z a-z 0-9 . _ : -",
                                   "Idempotency-Key harus 8-128 karakter A-Z a-z 0-9 . _ : -",
                                   field="Idempotency-Key")
        correlation_id = self.headers.get("x-correlation-id") or str(uuid.uuid4())
        return Request(now=self.now, correlation_id=correlation_id[:128], idempotency_key=key,
                       fingerprint=fingerprint(self.operation_id, [self.params, self.body]))


def endpoint(method: str, path: str, operation_id: str, summary: str, *, body: Schema | None = None,
             status: int = 200, audience: str = "public", idempotent_key: bool = False,
             query: tuple[str, ...] = ()) -> Callable:
    def decorate(fn: Callable[[Call], Any]) -> Callable:
        OPERATIONS.append(Operation(operation_id, method, path, summary, body, status, audience,
                                    idempotent_key, query))

        @functools.wraps(fn)
        def view(**params: str) -> Response:
            try:
                request = api.current_request
                services = get_services()
                headers = {k.lower(): v for k, v in (request.headers or {}).items()}
                principal = principal_from_headers(headers, services.verifier)
                _check_path_ids(params)
                payload: dict[str, Any] = {}
                if body is not None:
                    payload = validate(parse_json_body(request.raw_body, headers.get("content-type")), body)
                call = Call(services=services, principal=principal, body=payload, params=params,
                            query=dict(request.query_params or {}), headers=headers, now=services.clock(),
                            operation_id=operation_id)
                result = fn(call)
            except LaporError as exc:
                return error_response(exc)
            except Exception:  # noqa: BLE001 — the contract is JSON errors, never an HTML 500 or a trace
                return internal_error_response()
            if isinstance(result, str):  # a page for people (only the local /dev/outbox)
                return Response(body=result, status_code=status, headers={"Content-Type": "text/html; charset=utf-8"})
            return Response(body=json.dumps(result), status_code=status, headers=JSON_HEADERS)

        view.__name__ = operation_id
        api.route(path, methods=[method], content_types=["*/*"])(view)
        return fn

    return decorate
