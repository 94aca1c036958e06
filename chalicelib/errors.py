"""Domain and application errors as types. HTTP status codes are assigned in one place: chalicelib/http/errors.py.

Every error carries a stable `code`, an English `message` and an Indonesian `pesan`.
"""
from __future__ import annotations

from typing import Any, Sequence


class LaporError(Exception):
    code = "error"

    def __init__(self, message: str, pesan: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.pesan = pesan or message
        self.details = details


class ValidationFailed(LaporError):
    """The request is well-formed JSON but its fields are wrong."""
    code = "validation_failed"


class MalformedRequest(LaporError):
    code = "malformed_request"


class UnsupportedMediaType(LaporError):
    code = "unsupported_media_type"


class PayloadTooLarge(LaporError):
    code = "payload_too_large"


class UnknownReference(LaporError):
    """A category, region, institution or unit that does not exist."""

    def __init__(self, kind: str, value: str) -> None:
        super().__init__(f"unknown {kind}: {value!r}", f"{kind} tidak dikenal: {value!r}", field=kind, value=value)
        self.code = f"unknown_{kind}"


class Unauthenticated(LaporError):
    code = "unauthenticated"


class Forbidden(LaporError):
    code = "forbidden"


class ReportNotFound(LaporError):
    code = "report_not_found"

    def __init__(self, report_id: str) -> None:
        super().__init__(f"report {report_id} not found", f"laporan {report_id} tidak ditemukan", report_id=report_id)


class NotFound(LaporError):
    code = "not_found"


class RouteNotFound(NotFound):
    """No route has this path. API Gateway calls it MISSING_AUTHENTICATION_TOKEN (403); LAPOR answers 404."""

    def __init__(self, path: str) -> None:
        shown = path.split("?", 1)[0][:100]
        super().__init__(f"no such path: {shown}", f"alamat tidak ada: {shown}", path=shown)


class MethodNotAllowed(LaporError):
    """The path exists but takes other methods; `allowed` becomes the Allow header."""
    code = "method_not_allowed"

    def __init__(self, method: str, path: str, allowed: Sequence[str]) -> None:
        shown, methods = method[:20], ", ".join(allowed)
        super().__init__(f"{shown} is not allowed on {path}; allowed: {methods}",
                         f"metode {shown} tidak diizinkan untuk {path}; yang diizinkan: {methods}",
                         method=shown, allowed=list(allowed))
        self.allowed = tuple(allowed)


class InvalidTransition(LaporError):
    code = "invalid_transition"


class RuleViolated(LaporError):
    """A business rule refused the command although the transition itself exists (e.g. window closed)."""
    code = "rule_violated"


class ConcurrencyConflict(LaporError):
    code = "concurrency_conflict"

    def __init__(self, stream_id: str, expected_version: int) -> None:
        super().__init__(
            f"report {stream_id} changed since version {expected_version}; reload and retry",
            f"laporan {stream_id} telah berubah sejak versi {expected_version}; muat ulang dan coba lagi",
            stream_id=stream_id, expected_version=expected_version)


class IdempotencyKeyReused(LaporError):
    code = "idempotency_key_reused"


class RateLimited(LaporError):
    """A client (an Open311 app's API key) sent more requests in this window than its limit allows."""
    code = "rate_limited"

    def __init__(self, limit: int, retry_after_seconds: int) -> None:
        super().__init__(f"more than {limit} requests a minute for this API key; retry in {retry_after_seconds} s",
                         f"lebih dari {limit} permintaan per menit untuk kunci API ini; coba lagi dalam "
                         f"{retry_after_seconds} detik", limit=limit, retry_after_seconds=retry_after_seconds)
        self.retry_after_seconds = retry_after_seconds
