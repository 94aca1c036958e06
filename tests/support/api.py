"""The JSON client the HTTP tests drive the app with, and what they check of every answer."""
from __future__ import annotations

import json
from typing import Any

from tests.support.builders import REPORT_JALAN_BERLUBANG


class Api:
    """JSON in, JSON out, over chalice.test.Client."""

    def __init__(self, client) -> None:
        self.client = client

    def _headers(self, token: str | None, report_token: str | None, extra: dict[str, str] | None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if report_token:
            headers["X-Report-Token"] = report_token
        return headers | (extra or {})

    def post(self, path: str, body: Any = None, *, token: str | None = None, report_token: str | None = None,
             headers: dict[str, str] | None = None, raw: bytes | str | None = None):
        payload = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.http.post(path, headers=self._headers(token, report_token, headers), body=payload)

    def get(self, path: str, *, token: str | None = None, report_token: str | None = None):
        return self.client.http.get(path, headers=self._headers(token, report_token, None))


def body_of(response: Any, status: int) -> Any:
    """The decoded body of an answer that must have this status."""
    assert response.status_code == status, (response.status_code, response.body)
    return json.loads(response.body)


def json_of(response: Any, status: int = 200) -> Any:
    """As body_of, and the answer says it is JSON."""
    assert response.status_code == status, (response.status_code, response.body)
    assert response.headers["Content-Type"] == "application/json"
    return json.loads(response.body)


def error_of(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """An error answer `{code, message, pesan}` with this status (and this code, when given)."""
    body = body_of(response, status)
    if code is not None:
        assert body["code"] == code, body
    assert body["message"] and body["pesan"]
    return body


def bilingual_error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    """As error_of, and strictly: JSON by its Content-Type, message and pesan strings, pesan really Indonesian
    (not the English message repeated). For the answers whose wording the tests pin."""
    body = json_of(response, status)
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["pesan"], str) and body["pesan"] and body["pesan"] != body["message"]
    return body


def submit_report(api: Api, body: dict[str, Any] = REPORT_JALAN_BERLUBANG, **overrides: Any) -> tuple[str, str]:
    """POST /reports (201); the tracking id and the reporter's access token."""
    created = body_of(api.post("/reports", body | overrides), 201)
    return created["report_id"], created["access_token"]
