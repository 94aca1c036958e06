"""The OpenAPI 3.1 document, generated from the same declarations the routes run with."""
from __future__ import annotations

import re
from typing import Any

from chalicelib.http.endpoint import OPERATIONS
from chalicelib.http.validation import json_schema

ERROR = {"type": "object", "required": ["code", "message", "pesan"],
         "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                        "pesan": {"type": "string", "description": "the message in Bahasa Indonesia"},
                        "details": {"type": "object"}}}
_ERRORS = {"400": "malformed JSON", "401": "missing or invalid credentials", "403": "role may not do this",
           "404": "no such report for this caller", "409": "not allowed in the report's state, or a concurrent change",
           "413": "body too large", "415": "body is not JSON", "422": "invalid fields or unknown references",
           "503": "the database failed or could not be reached; retry later (Retry-After), with the same "
                  "Idempotency-Key for a command"}


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        entry: dict[str, Any] = {
            "operationId": op.operation_id, "summary": op.summary,
            "description": f"Who may call it: {op.audience}.",
            "responses": {str(op.status): {"description": "success",
                                           "content": {"application/json": {"schema": {"type": "object"}}}}}
            | {code: {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
               for code, text in _ERRORS.items()},
        }
        parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                      for name in re.findall(r"{(\w+)}", op.path)]
        parameters += [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
                       for name in op.query]
        if op.idempotent_key:
            parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                               "description": "a retry with the same key returns the first result and writes nothing",
                               "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:\\-]{8,128}$"}})
        if parameters:
            entry["parameters"] = parameters
        if op.body is not None:
            entry["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": json_schema(op.body)}}}
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "LAPOR — public-service complaints (SP4N-LAPOR!)", "version": "0.1.0"},
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {
                "staffBearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "reportToken": {"type": "apiKey", "in": "header", "name": "X-Report-Token"},
            },
        },
    }
