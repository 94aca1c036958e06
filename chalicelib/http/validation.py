"""Request bodies: parsed strictly, validated against a declared shape, all problems reported at once.

The same declarations produce the JSON Schemas of the OpenAPI document, so the docs cannot drift from
what the server accepts. Unknown fields are refused: a typo must not silently drop a privacy flag.
"""
from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any, Mapping

from chalicelib.errors import MalformedRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed

MAX_BODY_BYTES = 64 * 1024

_JSON_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number", dict: "object", list: "array"}
_ARTICLE = {"string": "a", "boolean": "a", "integer": "an", "number": "a", "object": "an", "array": "an"}
# Unicode category Cc (C0, DEL, C1). Text fields keep tab, LF and CR (a report body has lines); a NUL or an
# escape sequence is never meant, and breaks exports, terminals and SMS gateways downstream.
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Query parameters are ids, codes, numbers and cursors: no control character at all, not even tab or newline.
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 §5.6.2


@dataclass(frozen=True)
class Field:
    kind: type
    required: bool = False
    max_length: int | None = None
    min_length: int = 1
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    fields: Mapping[str, "Field"] | None = None  # for kind=dict
    items: "Field | None" = None  # for kind=list: every element's declaration (max_length: at most so many)
    description: str = ""
    default: Any = None

    def problem(self, value: Any) -> str | None:
        if self.kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:
            ok = type(value) is self.kind
        if not ok:
            kind = _JSON_TYPES[self.kind]
            return f"must be {_ARTICLE[kind]} {kind}"
        if self.kind is list:
            if self.max_length is not None and len(value) > self.max_length:
                return f"must have at most {self.max_length} items (got {len(value)})"
            for index, item in enumerate(value):
                problem = self.items.problem(item) if self.items else None
                if problem:
                    return f"item {index} {problem}"
            return None
        if self.kind is str:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return "must be valid Unicode text (it contains a lone surrogate)"
            control = _TEXT_CONTROL.search(value)
            if control:
                return _control_problem(control)
            if len(value.strip()) < self.min_length:
                return f"must have at least {self.min_length} non-blank characters"
            if self.max_length is not None and len(value) > self.max_length:
                return f"must be at most {self.max_length} characters (got {len(value)})"
        if self.choices is not None and value not in self.choices:
            return f"must be one of {list(self.choices)}"
        if self.minimum is not None and value < self.minimum:
            return f"must be >= {self.minimum}"
        if self.maximum is not None and value > self.maximum:
            return f"must be <= {self.maximum}"
        return None


Schema = Mapping[str, Field]


def _control_problem(found: re.Match[str]) -> str:
    return f"must not contain control characters (U+{ord(found.group()):04X} at position {found.start()})"


def check_query(query: Mapping[str, str]) -> None:
    """Every query parameter, used by the route or not, is free of control characters."""
    errors = []
    for name, value in sorted(query.items()):
        found = _ANY_CONTROL.search(name) or _ANY_CONTROL.search(value)
        if found:
            errors.append({"field": name, "problem": _control_problem(found)})
    if errors:
        summary = "; ".join(f"{e['field']} {e['problem']}" for e in errors)
        raise ValidationFailed(f"invalid query parameter: {summary}", f"parameter kueri tidak sah: {summary}",
                               errors=errors)


def check_header_text(name: str, value: str) -> None:
    found = _ANY_CONTROL.search(value)
    if found:
        raise ValidationFailed(f"{name} {_control_problem(found)}", f"{name} tidak boleh berisi karakter kontrol",
                               field=name)


def _collect(body: Any, schema: Schema, prefix: str, errors: list[dict[str, str]]) -> dict[str, Any]:
    if not isinstance(body, dict):
        errors.append({"field": prefix or "(body)", "problem": "must be a JSON object"})
        return {}
    for name in sorted(set(body) - set(schema)):
        errors.append({"field": prefix + name, "problem": "is not a known field"})
    clean: dict[str, Any] = {}
    for name, spec in schema.items():
        value = body.get(name)
        if value is None:
            if spec.required:
                errors.append({"field": prefix + name, "problem": "is required"})
            clean[name] = spec.default
            continue
        problem = spec.problem(value)
        if problem:
            errors.append({"field": prefix + name, "problem": problem})
        elif spec.kind is dict and spec.fields is not None:
            clean[name] = _collect(value, spec.fields, f"{prefix}{name}.", errors)
        elif spec.kind is list:
            clean[name] = [item.strip() if isinstance(item, str) else item for item in value]
        else:
            clean[name] = value.strip() if isinstance(value, str) else value
    return clean


def validate(body: Any, schema: Schema) -> dict[str, Any]:
    errors: list[dict[str, str]] = []
    clean = _collect(body, schema, "", errors)
    if errors:
        summary = "; ".join(f"{e['field']} {e['problem']}" for e in errors)
        raise ValidationFailed(f"invalid request: {summary}", f"permintaan tidak sah: {summary}", errors=errors)
    return clean


def require_size(raw: bytes | None, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    raw = raw or b""
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"request body is larger than {max_bytes} bytes", f"isi permintaan melebihi {max_bytes} byte")
    return raw


def parse_json_body(raw: bytes | None, content_type: str | None) -> Any:
    """The request body as JSON, refusing oversized, non-JSON and undecodable input."""
    raw = require_size(raw)
    _require_json_media_type(content_type)
    if not raw.strip():
        raise MalformedRequest("request body is empty; send a JSON object", "isi permintaan kosong")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, NaN/Infinity, absurd nesting or digits
        raise MalformedRequest(f"request body is not valid JSON: {str(exc)[:200]}",
                               "isi permintaan bukan JSON yang sah") from None


FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


def parse_form_body(raw: bytes | None, content_type: str | None, max_bytes: int = MAX_BODY_BYTES) -> dict[str, list[str]]:
    """A form-encoded body (SMS gateways' webhooks, Open311 POST) as {name: [values]}, refusing oversized,
    non-form and undecodable input. Empty values are kept: a gateway may send an empty message."""
    raw = require_size(raw, max_bytes)
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        raise UnsupportedMediaType(f"Content-Type must be {FORM_MEDIA_TYPE} (got {(content_type or '')[:100]!r})",
                                   f"Content-Type harus {FORM_MEDIA_TYPE}")
    try:
        return urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw.strip()),
                                     max_num_fields=200)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedRequest(f"request body is not valid form encoding: {str(exc)[:200]}",
                               "isi permintaan bukan form yang sah") from None


def _require_json_media_type(content_type: str | None) -> None:
    """Accept application/json and structured-syntax suffixes (application/problem+json, ...; RFC 6839), in
    UTF-8 only (RFC 8259 §8.1). No Content-Type is refused, not guessed: it may be a form post."""
    if content_type is None or not content_type.strip():
        raise UnsupportedMediaType("Content-Type is missing; send application/json",
                                   "Content-Type tidak ada; kirim application/json")
    media_type, *parameters = content_type.split(";")
    kind, slash, subtype = media_type.strip().lower().partition("/")
    is_json = (bool(slash) and kind == "application" and _TOKEN.fullmatch(subtype) is not None
               and (subtype == "json" or (subtype.endswith("+json") and len(subtype) > len("+json"))))
    if not is_json:
        raise UnsupportedMediaType(f"Content-Type must be application/json (got {content_type[:100]!r})",
                                   "Content-Type harus application/json")
    for parameter in parameters:
        if not parameter.strip():
            continue  # "application/json;" — a stray separator
        name, equals, value = parameter.partition("=")
        name, value = name.strip().lower(), value.strip().strip('"').lower()
        if not equals or not _TOKEN.fullmatch(name):
            raise UnsupportedMediaType(f"Content-Type has a malformed parameter: {content_type[:100]!r}",
                                       "parameter Content-Type tidak sah")
        if name == "charset" and value != "utf-8":
            raise UnsupportedMediaType(f"a JSON body must be UTF-8 (got charset={value[:40]})",
                                       "isi JSON harus UTF-8")


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def json_schema(schema: Schema) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, spec in schema.items():
        prop: dict[str, Any] = {"type": _JSON_TYPES[spec.kind]}
        if spec.description:
            prop["description"] = spec.description
        if spec.kind is str:
            prop["minLength"] = spec.min_length
            if spec.max_length is not None:
                prop["maxLength"] = spec.max_length
        if spec.choices is not None:
            prop["enum"] = list(spec.choices)
        if spec.minimum is not None:
            prop["minimum"] = spec.minimum
        if spec.maximum is not None:
            prop["maximum"] = spec.maximum
        if spec.kind is dict and spec.fields is not None:
            prop.update(json_schema(spec.fields))
        if spec.kind is list:
            if spec.max_length is not None:
                prop["maxItems"] = spec.max_length
            if spec.items is not None:
                prop["items"] = json_schema({"item": spec.items})["properties"]["item"]
        properties[name] = prop
    required = [name for name, spec in schema.items() if spec.required]
    return {"type": "object", "additionalProperties": False, "properties": properties,
            **({"required": required} if required else {})}
