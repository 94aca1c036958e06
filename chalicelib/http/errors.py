"""The one place where domain errors become HTTP responses: `{code, message, pesan[, details]}`."""
from __future__ import annotations

import json
import logging

from chalice import Response

from chalicelib import errors as err

logger = logging.getLogger(__name__)

STATUS: dict[type[err.LaporError], int] = {
    err.MalformedRequest: 400,
    err.Unauthenticated: 401,
    err.Forbidden: 403,
    err.ReportNotFound: 404,
    err.NotFound: 404,
    err.InvalidTransition: 409,
    err.RuleViolated: 409,
    err.ConcurrencyConflict: 409,
    err.PayloadTooLarge: 413,
    err.UnsupportedMediaType: 415,
    err.ValidationFailed: 422,
    err.UnknownReference: 422,
    err.IdempotencyKeyReused: 422,
}

JSON_HEADERS = {"Content-Type": "application/json"}


def status_of(error: err.LaporError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def error_response(error: err.LaporError) -> Response:
    body = {"code": error.code, "message": error.message, "pesan": error.pesan}
    if error.details:
        body["details"] = error.details
    return Response(body=json.dumps(body), status_code=status_of(error), headers=JSON_HEADERS)


def internal_error_response() -> Response:
    """Last resort: still JSON, never a stack trace."""
    logger.exception("unhandled error")
    body = {"code": "internal_error", "message": "internal error; it has been logged",
            "pesan": "terjadi kesalahan internal; telah dicatat"}
    return Response(body=json.dumps(body), status_code=500, headers=JSON_HEADERS)
