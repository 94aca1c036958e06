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
    err.MethodNotAllowed: 405,
    err.InvalidTransition: 409,
    err.RuleViolated: 409,
    err.ConcurrencyConflict: 409,
    err.PayloadTooLarge: 413,
    err.UnsupportedMediaType: 415,
    err.ValidationFailed: 422,
    err.UnknownReference: 422,
    err.IdempotencyKeyReused: 422,
    err.RateLimited: 429,
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
    headers = dict(JSON_HEADERS)
    if isinstance(error, err.MethodNotAllowed):  # RFC 9110 §15.5.6: a 405 must say what the path does take
        headers["Allow"] = ", ".join(error.allowed)
    headers |= retry_after(error)
    return Response(body=json.dumps(body), status_code=status_of(error), headers=headers)


def retry_after(error: err.LaporError) -> dict[str, str]:
    """RFC 9110 §10.2.3: a 429 says when the client may try again."""
    return {"Retry-After": str(error.retry_after_seconds)} if isinstance(error, err.RateLimited) else {}


def protocol_error_response(status: int, reason: str) -> Response:
    """A request the HTTP layer itself could not take (bad request line, oversized headers, bad framing).

    The status comes from that layer (400, 414, 431, 505, ...); the body keeps the API's shape."""
    body = {"code": err.MalformedRequest.code, "message": f"the HTTP request could not be read: {reason}",
            "pesan": "permintaan HTTP tidak dapat dibaca"}
    return Response(body=json.dumps(body), status_code=status, headers=dict(JSON_HEADERS))


# What DynamoDB answers when it, not the request, is at fault: full disk (DynamoDB Local's InternalFailure),
# an outage, throttling after the SDK's own retries. The client may retry; nothing it sent was wrong.
_STORAGE_CODES = frozenset({"InternalFailure", "InternalServerError", "ServiceUnavailable",
                            "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
                            "LimitExceededException", "TransactionInProgressException"})
STORAGE_RETRY_AFTER_SECONDS = 5


def is_storage_failure(error: BaseException) -> bool:
    """True when the database failed or could not be reached (anywhere in the chain of causes)."""
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotocoreConnectionError

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (BotocoreConnectionError, HTTPClientError)):
            return True
        code = (current.response.get("Error", {}).get("Code") if isinstance(current, ClientError)
                else getattr(current, "cause_response_code", None))  # pynamodb's errors carry it too
        if code in _STORAGE_CODES:
            return True
        current = getattr(current, "cause", None) or current.__cause__ or current.__context__
    return False


def internal_error_response(error: BaseException | None = None) -> Response:
    """Last resort: still JSON, never a stack trace. A database failure is a 503 the client may retry."""
    if error is not None and is_storage_failure(error):
        logger.exception("the database failed; the request was refused")
        body = {"code": "storage_unavailable",
                "message": "the database did not confirm this request, so it may not have been recorded; "
                           "retry later with the same Idempotency-Key",
                "pesan": "basis data tidak mengonfirmasi permintaan ini, jadi mungkin belum tercatat; "
                         "coba lagi nanti dengan Idempotency-Key yang sama"}
        return Response(body=json.dumps(body), status_code=503,
                        headers=JSON_HEADERS | {"Retry-After": str(STORAGE_RETRY_AFTER_SECONDS)})
    logger.exception("unhandled error")
    body = {"code": "internal_error", "message": "internal error; it has been logged",
            "pesan": "terjadi kesalahan internal; telah dicatat"}
    return Response(body=json.dumps(body), status_code=500, headers=JSON_HEADERS)
