"""Open-data downloads: a table-like read also answers `?format=csv` (RFC 4180) and `?format=json`.

The one place that renders CSV. A route declares its table — where the rows are in its JSON answer and which
columns they have (`Column`: a header and the path of the value in a JSON row) — and `downloadable` does the
rest, so the CSV and the JSON of a table are the same data by construction: each cell is the JSON value at
its column's path.

Cells are neutralised against formula injection as OWASP recommends: a text cell that starts with `=`, `+`,
`-`, `@`, tab or CR gets a leading `'`, so a spreadsheet shows it as text instead of running it (a report
title is the citizen's own text). Only the CSV is touched: JSON keeps the text and the numbers as they are.
"""
from __future__ import annotations

import csv
import functools
import io
import json
import re
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chalice import Response

from chalicelib.errors import ValidationFailed
from chalicelib.http.errors import JSON_HEADERS

FORMAT = "format"  # the query parameter; routes list it in their endpoint's `query`
FORMATS = ("json", "csv")
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")

Row = dict[str, Any]


@dataclass(frozen=True)
class Column:
    name: str  # the CSV header
    path: tuple[str, ...]  # where the value is in a JSON row
    default: Any = None  # what the JSON leaving the key out means (0 for the counts it omits when zero)


def value_at(row: Row, column: Column) -> Any:
    """The JSON value a cell shows; None when a parent is null (no indicators recorded), the column's default
    when the key is absent."""
    value: Any = row
    for key in column.path:
        if value is None:
            return None
        if key not in value:
            return column.default
        value = value[key]
    return value


def cell(value: Any) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: a bool is an int to Python, but a yes/no to a reader
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    raise TypeError(f"a CSV column must point to a scalar, not {type(value).__name__}")


def csv_text(columns: Sequence[Column], rows: Sequence[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180 §2: CRLF, quotes only where needed
    writer.writerow([column.name for column in columns])
    for row in rows:
        writer.writerow([cell(value_at(row, column)) for column in columns])
    return buffer.getvalue()


def requested_format(query: dict[str, str]) -> str:
    fmt = query.get(FORMAT, "json")
    if fmt not in FORMATS:
        raise ValidationFailed(f"format must be one of {list(FORMATS)} (got {fmt[:20]!r})",
                               f"format harus salah satu dari {list(FORMATS)}", field=FORMAT)
    return fmt


def _attachment(name: str, extension: str) -> dict[str, str]:
    # Names are built from codes and ids the routes already checked; the filter keeps the header safe anyway.
    safe = _UNSAFE_IN_FILENAME.sub("-", name).strip("-.") or "lapor"
    return {"Content-Disposition": f'attachment; filename="{safe}.{extension}"'}


def _next_link(path: str, query: dict[str, str], cursor: str | None) -> dict[str, str]:
    """RFC 8288 `Link: <…>; rel="next"`: a CSV has no room for the next page's cursor. Without the path as called
    (with API Gateway's stage) the reference is relative, which resolves against the request's own URL."""
    if not cursor:
        return {}
    params = {name: value for name, value in query.items() if name != "cursor"} | {"cursor": cursor}
    return {"Link": f'<{path}?{urllib.parse.urlencode(params)}>; rel="next"'}


def downloadable(*, filename: Callable[[Any, dict[str, Any]], str],
                 rows: Callable[[dict[str, Any]], Sequence[Row]],
                 columns: Callable[[Any, Sequence[Row]], Sequence[Column]]) -> Callable:
    """Decorate a route (below `@endpoint`, whose `query` lists FORMAT) that returns a JSON-able dict.

    Without `format` the answer is exactly the route's JSON. `format=json` is that JSON as a download;
    `format=csv` is `rows(answer)` under `columns(call, rows)`, and a paged answer's `next_cursor` goes in
    a Link header. The format is checked before the route runs: a bad one reads nothing."""
    def decorate(fn: Callable[[Any], dict[str, Any]]) -> Callable:
        @functools.wraps(fn)
        def route(call: Any) -> Any:
            asked = FORMAT in call.query
            fmt = requested_format(call.query)
            answer = fn(call)
            if fmt == "json":
                if not asked:
                    return answer
                return Response(body=json.dumps(answer), status_code=200,
                                headers=JSON_HEADERS | _attachment(filename(call, answer), "json"))
            table = rows(answer)
            return Response(body=csv_text(columns(call, table), table), status_code=200,
                            headers={"Content-Type": CSV_CONTENT_TYPE} | _attachment(filename(call, answer), "csv")
                            | _next_link(call.path, call.query, answer.get("next_cursor")))
        return route
    return decorate
