"""infra.local.http_server over real HTTP: the gateway's own answers are JSON `{code, message, pesan}`, and
closing the server waits for the requests in flight (the local runtime drains the stream right after)."""
from __future__ import annotations

import http.client
import json
import socket
import threading
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from chalice.config import Config

from infra.local.http_server import create_http_server
from tests.support.api import bilingual_error_of
from tests.support.builders import REPORT_JALAN_RUSAK as REPORT

JSON = {"Content-Type": "application/json"}


class Server:
    def __init__(self) -> None:
        import app as app_module

        config = Config.create(chalice_stage="local", app_name="lapor", lambda_timeout=30, lambda_memory_size=512)
        self.http = create_http_server(app_module.app, config, "127.0.0.1", 0)
        self.port = self.http.server.server_address[1]
        self.thread = threading.Thread(target=self.http.server.serve_forever, name="test-http", daemon=True)
        self.thread.start()
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.http.shutdown()
            self.http.server.server_close()

    def request(self, method: str, path: str, body: bytes | str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()


@pytest.fixture
def server(services):
    running = Server()
    yield running
    running.close()


def _error(status: int, headers: Any, body: bytes, expected_status: int, code: str) -> dict[str, Any]:
    return bilingual_error_of(SimpleNamespace(status_code=status, headers=headers, body=body), expected_status, code)


def _event_count(services) -> int:
    return boto3.client("dynamodb").scan(TableName=services.settings.table_names["events"], Select="COUNT")["Count"]


# ------------------------------------------------------------------------------------------ routing

@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "TRACE"])
@pytest.mark.parametrize("path", ["/nope", "/reports/LAP-2222222222/nothing-here", "/lapor/nope", "/reports/x/y/z?a=1"])
def test_an_unknown_path_is_404_not_found_json(server, method, path):
    status, headers, body = server.request(method, path, body=b"{}" if method == "POST" else None,
                                           headers=JSON if method == "POST" else None)
    error = _error(status, headers, body, 404, "not_found")
    assert error["details"]["path"] == path.split("?")[0]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "TRACE", "FOO", "CONNECT", "get"])
def test_a_method_the_path_does_not_take_is_405_with_allow(server, method):
    status, headers, body = server.request(method, "/reports/LAP-2222222222")
    error = _error(status, headers, body, 405, "method_not_allowed")
    assert headers["Allow"] == "GET, HEAD, OPTIONS"
    assert error["details"]["allowed"] == ["GET", "HEAD", "OPTIONS"]
    status, headers, body = server.request(method, "/reports")
    _error(status, headers, body, 405, "method_not_allowed")
    assert headers["Allow"] == "POST, OPTIONS"


def test_get_on_a_post_only_path_is_405_and_options_lists_the_methods(server):
    status, headers, body = server.request("GET", "/reports/LAP-2222222222/verification")
    _error(status, headers, body, 405, "method_not_allowed")
    assert headers["Allow"] == "POST, OPTIONS"
    status, headers, body = server.request("OPTIONS", "/reports/LAP-2222222222/verification")
    assert (status, headers["Allow"], body) == (204, "POST, OPTIONS", b"")
    assert headers["Content-Length"] is None


def test_head_is_get_without_the_content(server):
    status, headers, body = server.request("GET", "/health")
    assert status == 200 and json.loads(body)["status"] == "ok"
    head_status, head_headers, head_body = server.request("HEAD", "/health")
    assert (head_status, head_body) == (200, b"")
    assert head_headers["Content-Type"] == "application/json"
    assert int(head_headers["Content-Length"]) > 0  # what GET would have sent


# ------------------------------------------------------------------------------------------ bodies

def test_a_post_without_content_type_is_415_and_writes_nothing(server, services):
    status, headers, body = server.request("POST", "/reports", body=json.dumps(REPORT))
    _error(status, headers, body, 415, "unsupported_media_type")
    status, headers, body = server.request("POST", "/reports", body=json.dumps(REPORT),
                                           headers={"Content-Type": "text/jsonish"})
    _error(status, headers, body, 415, "unsupported_media_type")
    assert _event_count(services) == 0


def test_a_nul_in_the_title_is_422_naming_the_field(server, services):
    status, headers, body = server.request("POST", "/reports", body=json.dumps(REPORT | {"title": "Jalan\u0000rusak"}),
                                           headers=JSON)
    error = _error(status, headers, body, 422, "validation_failed")
    assert [e["field"] for e in error["details"]["errors"]] == ["title"]
    assert "U+0000" in error["details"]["errors"][0]["problem"]
    assert _event_count(services) == 0
    status, _, body = server.request("POST", "/reports", body=json.dumps(REPORT), headers=JSON)
    assert status == 201, body


def test_http_framing_errors_are_json(server):
    # A bad Content-Length used to crash chalice's handler (no answer at all).
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"POST /reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: abc\r\n\r\n{}")
        answer = raw.makefile("rb").read()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"Content-Type: application/json" in head
    assert json.loads(body)["code"] == "malformed_request"
    # What the stdlib refuses itself used to get its HTML error page: a request line or a header too long.
    for request, status in ((b"GET /" + b"x" * 70_000 + b" HTTP/1.1\r\n\r\n", b"414"),
                            (b"GET /health HTTP/1.1\r\nX-Big: " + b"x" * 70_000 + b"\r\n\r\n", b"431")):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            raw.sendall(request)
            answer = raw.makefile("rb").read()
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 " + status) and b"Content-Type: application/json" in head, head
        assert json.loads(body)["code"] == "malformed_request"


# ------------------------------------------------------------------------------------------ closing

def test_close_waits_for_a_request_in_flight_and_its_write(server, services, monkeypatch):
    entered, release = threading.Event(), threading.Event()
    submit = services.commands.submit

    def slow_submit(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        assert release.wait(10)
        return submit(*args, **kwargs)

    monkeypatch.setattr(services.commands, "submit", slow_submit)
    answer: dict[str, Any] = {}

    def client() -> None:
        answer["status"], _, answer["body"] = server.request("POST", "/reports", body=json.dumps(REPORT),
                                                             headers=JSON)

    client_thread = threading.Thread(target=client)
    client_thread.start()
    assert entered.wait(10), "the request never reached the app"

    closed = threading.Event()
    closer = threading.Thread(target=lambda: (server.close(), closed.set()))
    closer.start()
    assert not closed.wait(0.5), "server_close() returned while a request was still being handled"
    release.set()
    assert closed.wait(10)
    # When server_close() returns, the request's write has landed and its answer went out.
    assert _event_count(services) == 1
    client_thread.join(10)
    assert answer["status"] == 201, answer
    assert json.loads(answer["body"])["report_id"].startswith("LAP-")


def test_close_does_not_wait_for_an_idle_keep_alive_connection(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/health")  # HTTP/1.1: the connection stays open afterwards
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("Connection") != "close"
    response.read()
    closer = threading.Thread(target=server.close, daemon=True)  # daemon: a hang fails the test, not the run
    closer.start()
    closer.join(5)
    assert not closer.is_alive(), "server_close() waited for a connection that had no request in flight"
    connection.close()
