"""The spec's two formats (A.1): JSON, where lists are top-level arrays, and XML, its mechanical twin with
one element per list item (`services/service`, `service_requests/request`, `errors/error`, ...). Errors are
`[{code, description}]` with the HTTP status the spec asks for: 404 missing, 403 bad or missing api_key,
400 anything else (plus 429 over a key's rate limit and 5xx when LAPOR itself failed)."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from chalice import Response

from chalicelib.errors import LaporError
from chalicelib.http.errors import retry_after, status_of

CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
# The element of each item of a list, by the list's element name.
ITEM_ELEMENTS = {"services": "service", "service_requests": "request", "errors": "error",
                 "attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}
_KEPT_STATUSES = (403, 404, 429)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(element, ITEM_ELEMENTS[element.tag]), item)
    elif isinstance(value, dict):
        for name, inner in value.items():
            if inner is not None:
                _fill(ET.SubElement(element, name), inner)
    else:
        element.text = _text(value)


def to_xml(root: str, data: Any) -> str:
    """The XML document; non-ASCII text as character references, so the bytes are ASCII and hence UTF-8
    whatever the transport does with the body."""
    element = ET.Element(root)
    _fill(element, data)
    return XML_DECLARATION + ET.tostring(element, encoding="us-ascii", xml_declaration=False).decode("ascii")


def render(fmt: str, root: str, data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """`root` names the XML document element; JSON has none (a list is the array itself)."""
    body = json.dumps(data) if fmt == "json" else to_xml(root, data)
    return Response(body=body, status_code=status, headers={"Content-Type": CONTENT_TYPES[fmt]} | (headers or {}))


def open311_status(error: LaporError) -> int:
    """The one status mapping (chalicelib/http/errors.py), folded into the few the spec allows."""
    status = status_of(error)
    return status if status in _KEPT_STATUSES or status >= 500 else 400


def error_response(fmt: str, error: LaporError) -> Response:
    status = open311_status(error)
    problems = "; ".join(f"{e['field']} {e['problem']}" for e in error.details.get("errors", []))
    description = error.message if problems in error.message else f"{error.message}: {problems}"
    return render(fmt, "errors", [{"code": status, "description": description}], status=status,
                  headers=retry_after(error))
