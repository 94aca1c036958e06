"""`lapor serve`'s HTTP server: chalice's local dev server, answering what API Gateway answers itself in
LAPOR's `{code, message, pesan}` shape, and stopping without cutting requests short.

chalice.local plays API Gateway without its gateway responses: an unknown path gets 403
`{"message": "Missing Authentication Token"}`, and the stdlib handler answers TRACE or an unknown verb with a
501 HTML page. Behind the real API Gateway infra/template.py reshapes the gateway's own answers; here:

* a path no route has -> 404 `not_found`;
* a method Chalice cannot route (TRACE, CONNECT, FOO, ...) on a known path -> 405 `method_not_allowed` with
  Allow. GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS always reach the app, which routes every one of them
  on every path (chalicelib/http/endpoint.py), exactly as behind API Gateway;
* what the HTTP layer cannot read (request line, headers, Content-Length, chunked bodies) -> JSON too.

Stopping: the caller runs `shutdown()` (no new connections) and then `server.server_close()`, and then drains
the DynamoDB stream. So `server_close()` waits for every request thread: a request the app is handling
finishes (its write lands before the drain) and its response is sent; connections idle between keep-alive
requests are closed at once rather than waited for.
"""
from __future__ import annotations

import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from typing import Any, Optional, Tuple, Union

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    RouteMatcher,
)

from chalicelib.errors import MalformedRequest, MethodNotAllowed, PayloadTooLarge, RouteNotFound
from chalicelib.http.endpoint import allowed_methods
from chalicelib.http.errors import error_response, protocol_error_response

# API Gateway's payload limit. A larger body is refused unread (the app's own limit, 64 KiB, is far lower).
MAX_REQUEST_BYTES = 10 * 1024 * 1024
# While a request is being read or answered, a client that stalls for this long loses its connection.
REQUEST_IO_TIMEOUT_SECONDS = 30.0
_NO_CONTENT = (204, 304)
_DECIMAL = re.compile(r"[0-9]{1,20}")


def create_http_server(app: Chalice, config: Config, host: str, port: int) -> LocalDevServer:
    """Like chalice.local.create_local_server: `.server.serve_forever()`, `.shutdown()`,
    `.server.server_close()` (waits for requests in flight), `.server.server_address`."""
    if not isinstance(app, LocalChalice):
        # What create_local_server does: current_request becomes per thread. Only once: a second swap would
        # make CustomLocalChalice its own base.
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
    return LocalDevServer(app, config, host, port, handler_cls=_RequestHandler, server_cls=_Server)


class _Gateway(LocalGateway):
    """LocalGateway, answering unknown paths and unroutable methods itself, like API Gateway does."""

    def __init__(self, app: Chalice, config: Config) -> None:
        super().__init__(app, config)
        self._routes = RouteMatcher(list(app.routes))

    def handle_request(self, method: str, path: str, headers: dict[str, Any],
                       body: Optional[bytes]) -> dict[str, Any]:
        try:
            route = self._routes.match_route(path).route
        except ValueError:
            return error_response(RouteNotFound(path)).to_dict()
        if method not in self._app_object.routes[route]:
            return error_response(MethodNotAllowed(method, route, allowed_methods(route))).to_dict()
        return super().handle_request(method, path, headers, body)


class _Server(ThreadingMixIn, HTTPServer):
    # Non-daemon, tracked request threads: ThreadingMixIn.server_close() joins them.
    daemon_threads = False
    block_on_close = True
    # socketserver's default backlog of 5 makes a burst of concurrent clients see connection resets.
    request_queue_size = 128

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._lock = threading.Lock()
        self._idle: set[socket.socket] = set()  # connections waiting for their next request line
        self._closing = False
        super().__init__(*args, **kwargs)

    def connection_idle(self, connection: socket.socket) -> bool:
        """Before reading a request line. False once closing: the connection ends instead of waiting."""
        with self._lock:
            if self._closing:
                return False
            self._idle.add(connection)
            return True

    def connection_busy(self, connection: socket.socket) -> bool:
        """A request line arrived. False once closing: close began while it was idle, so it is not served."""
        with self._lock:
            self._idle.discard(connection)
            return not self._closing

    def connection_gone(self, connection: socket.socket) -> None:
        with self._lock:
            self._idle.discard(connection)

    @property
    def closing(self) -> bool:
        return self._closing

    def server_close(self) -> None:
        with self._lock:
            self._closing = True
            idle = list(self._idle)
        for connection in idle:
            try:  # wakes the thread blocked reading the next request line: it sees EOF and ends
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        super().server_close()  # closes the listening socket, then joins every request thread


class _RequestHandler(ChaliceRequestHandler):
    server: _Server
    # TCP_NODELAY, and each response in one write (flush_headers): otherwise a keep-alive client waits for
    # the body behind Nagle's algorithm and its own delayed ACK (~40 ms a response on Linux).
    disable_nagle_algorithm = True
    _body_with_headers = b""

    def __init__(self, request: Any, client_address: Tuple[str, int], server: HTTPServer, app_object: Chalice,
                 config: Config) -> None:
        # ChaliceRequestHandler.__init__ with our gateway: BaseHTTPRequestHandler.__init__ serves the connection.
        self.local_gateway = _Gateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Any:
        # The stdlib answers a verb without a do_<VERB> method with a 501 HTML page. Every verb goes to the
        # gateway instead, which answers 405 JSON for those no route takes (TRACE, CONNECT, FOO, ...).
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    # --- connection lifecycle (see _Server) ---------------------------------------------------------------

    def handle_one_request(self) -> None:
        # Idle reads have no timeout: a keep-alive connection may wait as long as it likes, server_close()
        # ends it. Once a request line arrives, reading the rest and answering have REQUEST_IO_TIMEOUT_SECONDS.
        self.connection.settimeout(None)
        if not self.server.connection_idle(self.connection):
            self.close_connection = True
            return
        super().handle_one_request()
        if self.server.closing:  # the response is sent; a stopping server takes no further request
            self.close_connection = True

    def parse_request(self) -> bool:
        if not self.server.connection_busy(self.connection):
            self.close_connection = True
            return False
        self.connection.settimeout(REQUEST_IO_TIMEOUT_SECONDS)
        return super().parse_request()

    def finish(self) -> None:
        self.server.connection_gone(self.connection)
        super().finish()

    # --- request framing ----------------------------------------------------------------------------------

    def _generic_handle(self) -> None:
        refusal = self._framing_problem()
        if refusal is not None:
            # The body was not read, so the connection cannot carry another request.
            self.close_connection = True
            response = error_response(refusal).to_dict()
            self._send_http_response(response["statusCode"], response["headers"], response["body"])
            return
        super()._generic_handle()

    # chalice binds its own _generic_handle to these names; rebind them to the override above.
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _generic_handle

    def _framing_problem(self) -> Optional[Any]:
        if self.headers.get("transfer-encoding"):
            return MalformedRequest("chunked request bodies are not supported; send Content-Length",
                                    "isi permintaan bertahap (chunked) tidak didukung; kirim Content-Length")
        lengths = self.headers.get_all("content-length") or []
        if len(set(lengths)) > 1 or (lengths and not _DECIMAL.fullmatch(lengths[0].strip())):
            return MalformedRequest("Content-Length is not a single non-negative integer",
                                    "Content-Length tidak sah")
        if lengths and int(lengths[0]) > MAX_REQUEST_BYTES:
            return PayloadTooLarge(f"request body is larger than {MAX_REQUEST_BYTES} bytes",
                                   f"isi permintaan melebihi {MAX_REQUEST_BYTES} byte")
        return None

    def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None) -> None:
        """The stdlib's protocol errors (400 bad request line, 414, 431, 505, ...), as JSON rather than HTML."""
        reason = message or self.responses.get(code, ("error",))[0]
        self.log_error("code %d, message %s", code, reason)
        self.close_connection = True
        response = protocol_error_response(code, reason).to_dict()
        self._send_http_response(code, response["headers"] | {"Connection": "close"}, response["body"])

    # --- responses ----------------------------------------------------------------------------------------

    def _send_http_response(self, code: int, headers: dict[str, Any], body: Optional[Union[str, bytes]]) -> None:
        """chalice's, plus: no content for HEAD (with GET's Content-Length, RFC 9110 §9.3.2), and no
        Content-Length or content at all on 204 / 304."""
        content = body.encode("utf-8") if isinstance(body, str) else (body or b"")
        self.send_response(code)
        content_type = headers.pop("Content-Type", "application/json")
        if code not in _NO_CONTENT:
            self.send_header("Content-Length", str(len(content)))
            if content:
                self.send_header("Content-Type", content_type)
        if content and code not in _NO_CONTENT and self.command != "HEAD":
            self._body_with_headers = content
        self._send_headers(headers)  # ends the header block: flush_headers sends it with the body

    def flush_headers(self) -> None:
        body, self._body_with_headers = self._body_with_headers, b""
        if body and hasattr(self, "_headers_buffer"):
            self._headers_buffer.append(body)
        super().flush_headers()
