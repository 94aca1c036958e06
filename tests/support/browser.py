"""What a browser does for the HTML pages, in-process (chalice.test.Client): keep cookies by path, send the
form's CSRF token, post forms. The page tests and the console tests build on it."""
from __future__ import annotations

import urllib.parse
from typing import Any

from tests.web.html import parse


class FormBrowser:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.jar: dict[tuple[str, str], str] = {}  # (name, path) -> value
        self.set_cookie_lines: list[str] = []  # every Set-Cookie line received, for the cookies' flags
        self.sent: list[dict[str, str]] = []  # the fields of every form posted

    def cookie_header(self, path: str) -> str:
        matching = [(cookie_path, name, value) for (name, cookie_path), value in self.jar.items()
                    if cookie_path == "/" or path == cookie_path or path.startswith(cookie_path + "/")]
        return "; ".join(f"{name}={value}" for _, name, value in sorted(matching, key=lambda m: -len(m[0])))

    def keep(self, response: Any) -> Any:
        lines = response.headers.get("Set-Cookie") or []
        for line in [lines] if isinstance(lines, str) else lines:
            self.set_cookie_lines.append(line)
            name_value, *attributes = [part.strip() for part in line.split(";")]
            name, _, value = name_value.partition("=")
            path = next((a[5:] for a in attributes if a.startswith("Path=")), "/")
            if "Max-Age=0" in attributes:
                self.jar.pop((name, path), None)
            else:
                self.jar[(name, path)] = value
        return response

    def get(self, path: str) -> Any:
        return self.keep(self.client.http.get(path, headers={"Cookie": self.cookie_header(path.split("?")[0])}))

    def csrf(self) -> str:
        return parse(self.get("/lacak").body.decode()).value("csrf")

    def post(self, path: str, fields: dict[str, str], *, csrf: str | None = "page",
             content_type: str = "application/x-www-form-urlencoded") -> Any:
        token = self.csrf() if csrf == "page" else csrf
        self.sent.append(fields)
        body = urllib.parse.urlencode(({"csrf": token} if token is not None else {}) | fields)
        return self.keep(self.client.http.post(path, body=body.encode(), headers={
            "Content-Type": content_type, "Cookie": self.cookie_header(path)}))
