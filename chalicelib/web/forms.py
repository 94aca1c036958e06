"""From HTML form fields to the JSON API's bodies, and from the API's errors back to form fields.

A form posts text; the API's field declarations (chalicelib/http/routes.py) say what each field is. So the
conversion is driven by those declarations — a checkbox is a boolean field, a number field gets a number —
and the validated body goes to the same route function the JSON API calls. There is no second set of rules:
the only difference is that a location may be an address without coordinates (as Open311 allows), so the
form's location schema is the API's with lat/lon optional — but still both or neither.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Mapping

from chalicelib.errors import LaporError, UnknownReference, ValidationFailed
from chalicelib.http.routes import LOCATION, REPORTER, SUBMIT, checked_personal_data
from chalicelib.http.validation import Field, Schema, validate
from chalicelib.web.texts import problem_text

# Coordinates as people type them; "nan" or "1e3" are not coordinates (float() would take them).
_DECIMAL = re.compile(r"-?[0-9]{1,3}(?:[.,][0-9]{1,12})?")
_INTEGER = re.compile(r"-?[0-9]{1,9}")

WEB_SUBMIT: Schema = {**SUBMIT, "location": replace(SUBMIT["location"], fields={
    name: replace(spec, required=False) for name, spec in LOCATION.items()})}
# The submission's form fields, each with the API field it fills. The reporter's NIK is not asked on the web.
LOCATION_FORM = {"address": "address", "lat": "lat", "lon": "lon"}
REPORTER_FORM = {"name": "name", "phone": "phone", "email": "email"}
SUBMISSION_FIELDS = ("type", "title", "body", "category_id", "region_code", "anonymous", "confidential")
# API error field -> form field, where they differ (an unknown reference names its kind).
_FORM_FIELD = {"location.lat": "lat", "location.lon": "lon", "location.address": "address",
               "reporter.name": "name", "reporter.phone": "phone", "reporter.email": "email",
               "region": "region_code", "category": "category_id", "photo_upload_ids": "photos",
               "upload_id": "photos"}
FORM_ERROR = "_form"  # an error of the form as a whole


def typed(form: Mapping[str, str], name: str, spec: Field) -> Any:
    """The value a JSON client would have sent for this form field (None: left empty)."""
    if spec.kind is bool:
        return name in form  # a checkbox is sent only when ticked
    raw = form.get(name, "")
    if not raw.strip():
        return None
    if spec.kind is float and _DECIMAL.fullmatch(raw.strip()):
        return float(raw.strip().replace(",", "."))
    if spec.kind is int and _INTEGER.fullmatch(raw.strip()):
        return int(raw.strip())
    return raw  # text, or a number that is not one: the schema names the problem


def body_of(form: Mapping[str, str], schema: Schema) -> dict[str, Any]:
    """A command's body from a form whose fields are named as the schema's (reply, accept, object, escalate)."""
    return {name: typed(form, name, spec) for name, spec in schema.items()}


def submission_of(form: Mapping[str, str], uploads: tuple[str, ...] = ()) -> dict[str, Any]:
    """The API's body from the form; `uploads`: the photos foto.js uploaded first (hidden `photo_upload_id`s)."""
    body: dict[str, Any] = {name: typed(form, name, SUBMIT[name]) for name in SUBMISSION_FIELDS}
    if uploads:
        body["photo_upload_ids"] = list(uploads)
    body["channel"] = "web"
    location = {key: typed(form, name, LOCATION[key]) for name, key in LOCATION_FORM.items()}
    if any(value is not None for value in location.values()):
        body["location"] = {key: value for key, value in location.items() if value is not None}
    reporter = {key: typed(form, name, REPORTER[key]) for name, key in REPORTER_FORM.items()}
    if any(value is not None for value in reporter.values()):
        body["reporter"] = {key: value for key, value in reporter.items() if value is not None}
    return {name: value for name, value in body.items() if value is not None}


def checked_submission(body: dict[str, Any]) -> dict[str, Any]:
    """The submission validated as POST /reports validates it, every problem at once (the API reports personal
    data after the fields; a form should not make people send it twice to learn both)."""
    errors: list[dict[str, str]] = []
    clean: dict[str, Any] = {}
    try:
        clean = validate(body, WEB_SUBMIT)
    except ValidationFailed as refused:
        errors += refused.details["errors"]
    location = body.get("location") or {}
    for present, missing in (("lat", "lon"), ("lon", "lat")):
        if present in location and missing not in location:
            errors.append({"field": f"location.{missing}", "problem": "is required"})
    try:
        checked_personal_data(body.get("reporter"))
    except ValidationFailed as refused:
        errors += refused.details["errors"]
    if errors:
        raise ValidationFailed("invalid form", "isian formulir tidak sah", errors=errors)
    if clean["location"]:  # an address alone is {"address": ...}, as Open311 records it: no null coordinates
        clean["location"] = {key: value for key, value in clean["location"].items() if value is not None}
    return clean


def field_errors(error: LaporError, lang: str) -> dict[str, str]:
    """{form field: what is wrong, in the page's language}; FORM_ERROR for what belongs to no field."""
    if isinstance(error, UnknownReference):
        kind = error.details["field"]
        return {_FORM_FIELD.get(kind, kind): problem_text("is not known", lang)}
    shown: dict[str, str] = {}
    for problem in error.details.get("errors", []):
        name = _FORM_FIELD.get(problem["field"], problem["field"])
        text = problem_text(problem["problem"], lang)
        shown[name] = f"{shown[name]}; {text}" if name in shown else text
    if not shown:
        field = error.details.get("field")
        shown[_FORM_FIELD.get(field, field) if isinstance(field, str) else FORM_ERROR] = (
            error.pesan if lang == "id" else error.message)
    return shown
