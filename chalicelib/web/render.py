"""Templates, the headers every page carries, cookies, and the per-request context of a page.

Jinja2 autoescapes every value: nothing a person typed reaches the HTML unescaped, and no template marks
anything safe. The policy allows no script at all and styles only from our own stylesheet, so even a slip
could not run code (only the Statistik pages add `script-src 'self'`, SCRIPT_POLICY, for their chart files).
Pages are `no-store`: forms carry CSRF and idempotency keys, the receipt a token.
"""
from __future__ import annotations

import functools
import hashlib
import secrets
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from chalice import Response

from chalicelib.errors import Forbidden
from chalicelib.http.validation import parse_form_body
from chalicelib.web import csrf
from chalicelib.web.texts import DEFAULT_LANGUAGE, LANGUAGES, TEXTS, local_time

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STYLESHEET = HERE / "static" / "lapor.css"

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
}
# The Statistik pages draw charts with our own two scripts (chalicelib/web/static/): only those pages allow
# scripts, and only files of this origin — still no inline script or style, no eval.
SCRIPT_POLICY = {"Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"] + "; script-src 'self'"}
HTML_TYPE = "text/html; charset=utf-8"
LANG_COOKIE = "lapor_lang"
YEAR_SECONDS = 365 * 24 * 3600


@functools.cache
def _environment() -> Any:
    import jinja2  # here, not at module level: the JSON API's cold start need not pay for the templates

    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@functools.cache
def stylesheet() -> tuple[bytes, str]:
    """The CSS and a short digest of it: the pages link `lapor.css?v=<digest>`, so it may be cached long."""
    content = STYLESHEET.read_bytes()
    return content, hashlib.sha256(content).hexdigest()[:12]


def stylesheet_response() -> Response:
    content, _ = stylesheet()
    return Response(body=content.decode("utf-8"), status_code=200,
                    headers={"Content-Type": "text/css; charset=utf-8", "Cache-Control": "public, max-age=86400",
                             **SECURITY_HEADERS})


def cookie(name: str, value: str, *, path: str, secure: bool, max_age: int | None = None,
           same_site: str = "Strict") -> str:
    parts = [f"{name}={value}", f"Path={path or '/'}", "HttpOnly", f"SameSite={same_site}"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def parse_cookies(header: str | None) -> dict[str, str]:
    """The Cookie header as {name: value}. The first of a repeated name wins: browsers send the cookie of the
    most specific path first. Malformed pieces are skipped; a cookie header never makes a page fail."""
    cookies: dict[str, str] = {}
    for piece in (header or "").split(";"):
        name, equals, value = piece.strip().partition("=")
        if equals and name and name not in cookies:
            cookies[name] = value.strip()
    return cookies


def base_path(request: Any) -> str:
    """API Gateway's stage prefix ("/api") when the page was called through one, else "": links, redirects and
    cookie paths must carry it. It is what the called path has beyond the route's own (filled-in) path."""
    context = getattr(request, "context", None) or {}
    called, resource = context.get("path") or "", context.get("resourcePath") or ""
    if not resource:
        return ""
    for name, value in (getattr(request, "uri_params", None) or {}).items():
        resource = resource.replace("{" + name + "}", value)
    if resource == "/":
        return called.rstrip("/")
    return called[: -len(resource)].rstrip("/") if called.endswith(resource) else ""


@dataclass
class Page:
    """What every page of one request shares: its language, its CSRF nonce, the cookies to set."""

    lang: str
    base: str
    secret: str
    secure: bool  # cookies only over HTTPS (everywhere but `lapor serve` on http://127.0.0.1)
    cookies: dict[str, str]
    query: Mapping[str, str]
    nonce: str = ""
    set_cookies: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, headers: Mapping[str, str], query: Mapping[str, str], request: Any, *, secret: str,
           stage: str) -> Page:
        cookies = parse_cookies(headers.get("cookie"))
        asked = query.get("lang")
        lang = asked if asked in LANGUAGES else cookies.get(LANG_COOKIE)
        page = cls(lang=lang if lang in LANGUAGES else DEFAULT_LANGUAGE, base=base_path(request), secret=secret,
                   secure=stage != "local", cookies=cookies, query=query)
        if asked in LANGUAGES:  # remembered, so the switch holds on every page and form that follows
            page.set_cookies.append(cookie(LANG_COOKIE, asked, path=page.base or "/", secure=page.secure,
                                           max_age=YEAR_SECONDS, same_site="Lax"))
        page.nonce = cookies.get(csrf.COOKIE, "")
        if not csrf.is_nonce(page.nonce):
            page.nonce = csrf.new_nonce()
            page.set_cookies.append(cookie(csrf.COOKIE, page.nonce, path=page.base or "/", secure=page.secure))
        return page

    @property
    def t(self) -> dict[str, str]:
        return TEXTS[self.lang]

    def url(self, path: str, **query: str | None) -> str:
        kept = {name: value for name, value in query.items() if value}
        return self.base + path + ("?" + urllib.parse.urlencode(kept) if kept else "")

    def form(self, raw_body: bytes, content_type: str | None) -> dict[str, str]:
        """A posted form, CSRF-checked, as {name: first value}; refusals are errors, nothing is done."""
        fields = {name: values[0] for name, values in parse_form_body(raw_body, content_type).items()}
        if not csrf.is_valid(self.secret, self.cookies.get(csrf.COOKIE), fields.get(csrf.FIELD)):
            raise Forbidden("the form's CSRF token is missing or wrong", "token CSRF formulir tidak ada atau salah",
                            csrf=True)
        return fields

    def switch_url(self, path: str) -> str:
        other = "en" if self.lang == "id" else "id"
        return self.url(path, **({k: v for k, v in self.query.items() if k != "lang"} | {"lang": other}))

    def html(self, template: str, status: int = 200, *, headers: Mapping[str, str] | None = None,
             **values: Any) -> Response:
        _, digest = stylesheet()
        context = {"switch": None, **values}  # `switch`: the language link, only on pages a GET can show again
        body = _environment().get_template(template).render(
            t=self.t, lang=self.lang, url=self.url, csrf_token=csrf.form_token(self.secret, self.nonce),
            css=self.url("/static/lapor.css", v=digest), new_key=new_idempotency_key,
            when=lambda instant, zone: local_time(instant, zone, self.lang), **context)
        return Response(body=body, status_code=status, headers=self._headers(headers, {"Content-Type": HTML_TYPE}))

    def redirect(self, location: str, *, cookies: tuple[str, ...] = ()) -> Response:
        """303 See Other: after a POST the browser GETs the result (a reload never re-sends the form)."""
        self.set_cookies.extend(cookies)
        return Response(body="", status_code=303, headers=self._headers(None, {"Location": location}))

    def _headers(self, extra: Mapping[str, str] | None, base: Mapping[str, str]) -> dict[str, Any]:
        headers: dict[str, Any] = {**base, "Cache-Control": "no-store", **SECURITY_HEADERS, **(extra or {})}
        if self.set_cookies:
            headers["Set-Cookie"] = list(self.set_cookies)  # Chalice sends a list as multiValueHeaders
        return headers


def new_idempotency_key() -> str:
    """A fresh key per rendered form: a double click or a reload re-sends the same key, so one report."""
    return "web-" + secrets.token_urlsafe(18)
