"""Institutions that receive reports and their units (DOMAIN §10), from ``data/institutions.json``.

A report is disposed to an institution and then to one of its units (an OPD, a kecamatan, a directorate).
Each pemda is tied to its Kemendagri region, which gives it the time zone its deadlines end in. Ids are
stable slugs because events store them; the file is validated when loaded so a typo fails at start-up,
not when a report is routed.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .regions import ReferenceDataError, Region

__all__ = [
    "DEFAULT_INSTITUTIONS_PATH",
    "INSTITUTION_KINDS",
    "NATIONAL_TIMEZONE",
    "UNIT_KINDS",
    "Institution",
    "Unit",
    "institution_to_dict",
    "load_institutions",
    "unit_to_dict",
]

DEFAULT_INSTITUTIONS_PATH = Path(__file__).resolve().parent / "data" / "institutions.json"

# Ministries and agencies sit in Jakarta, so their office hours are WIB.
NATIONAL_TIMEZONE = "WIB"

# Institution kind -> the region level a pemda of that kind must be tied to (None: national, no region).
_REGION_LEVEL_BY_KIND: Mapping[str, str | None] = MappingProxyType({
    "ministry": None,
    "agency": None,
    "province": "province",
    "regency": "regency",
    "city": "city",
})
INSTITUTION_KINDS = frozenset(_REGION_LEVEL_BY_KIND)
UNIT_KINDS = frozenset({"directorate", "opd", "kecamatan", "branch"})

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_INSTITUTION_KEYS = frozenset({"id", "name", "kind", "region_code", "units"})
_UNIT_KEYS = frozenset({"id", "name", "kind"})


@dataclass(frozen=True)
class Unit:
    """A unit of an institution that reports are disposed to; its id is unique within the institution only."""

    id: str
    name: str
    kind: str  # "directorate" | "opd" | "kecamatan" | "branch"


@dataclass(frozen=True)
class Institution:
    """A ministry, agency or pemda. ``region_code`` is None for national ones."""

    id: str
    name: str
    kind: str  # "ministry" | "agency" | "province" | "regency" | "city"
    region_code: str | None
    timezone: str  # "WIB" | "WITA" | "WIT"
    units: tuple[Unit, ...]

    def unit(self, unit_id: str) -> Unit | None:
        """The unit with this id, or None; a handful of units, so a scan beats an index."""
        return next((unit for unit in self.units if unit.id == unit_id), None)


def load_institutions(
    regions: Mapping[str, Region], path: Path = DEFAULT_INSTITUTIONS_PATH
) -> dict[str, Institution]:
    """Reads and validates the institutions file; raises ReferenceDataError naming the offending entry."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ReferenceDataError(f"cannot read institutions file {path}: {error}") from error
    entries = document.get("institutions") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ReferenceDataError(f"{path}: expected an object with an 'institutions' list")

    institutions: dict[str, Institution] = {}
    for position, entry in enumerate(entries):
        institution = _parse_institution(entry, regions, where=f"{path.name} institutions[{position}]")
        if institution.id in institutions:
            raise ReferenceDataError(f"{path.name}: duplicate institution id {institution.id!r}")
        institutions[institution.id] = institution
    return institutions


def _parse_institution(entry: Any, regions: Mapping[str, Region], where: str) -> Institution:
    _check_keys(entry, _INSTITUTION_KEYS, where)
    institution_id = _slug(entry["id"], f"{where}.id")
    where = f"institution {institution_id!r}"
    name = _text(entry["name"], f"{where} name")
    kind = entry["kind"]
    if kind not in INSTITUTION_KINDS:
        raise ReferenceDataError(f"{where}: kind {kind!r} is not one of {sorted(INSTITUTION_KINDS)}")

    region_code = entry["region_code"]
    expected_level = _REGION_LEVEL_BY_KIND[kind]
    if expected_level is None:
        if region_code is not None:
            raise ReferenceDataError(f"{where}: a {kind} is national and must have region_code null")
        timezone = NATIONAL_TIMEZONE
    else:
        region = regions.get(region_code) if isinstance(region_code, str) else None
        if region is None:
            raise ReferenceDataError(f"{where}: unknown Kemendagri region code {region_code!r}")
        if region.level != expected_level:
            raise ReferenceDataError(
                f"{where}: a {kind} must be tied to a {expected_level}, but {region_code} "
                f"({region.name}) is a {region.level}"
            )
        timezone = region.timezone

    raw_units = entry["units"]
    if not isinstance(raw_units, list) or not raw_units:
        raise ReferenceDataError(f"{where}: units must be a non-empty list")
    units = tuple(_parse_unit(raw, f"{where} units[{position}]") for position, raw in enumerate(raw_units))
    seen: set[str] = set()
    for unit in units:
        if unit.id in seen:
            raise ReferenceDataError(f"{where}: duplicate unit id {unit.id!r}")
        seen.add(unit.id)

    return Institution(
        id=institution_id, name=name, kind=kind, region_code=region_code, timezone=timezone, units=units
    )


def _parse_unit(entry: Any, where: str) -> Unit:
    _check_keys(entry, _UNIT_KEYS, where)
    kind = entry["kind"]
    if kind not in UNIT_KINDS:
        raise ReferenceDataError(f"{where}: unit kind {kind!r} is not one of {sorted(UNIT_KINDS)}")
    return Unit(id=_slug(entry["id"], f"{where}.id"), name=_text(entry["name"], f"{where}.name"), kind=kind)


def _check_keys(entry: Any, expected: frozenset[str], where: str) -> None:
    # Exact keys: a misspelt key would otherwise be ignored silently.
    if not isinstance(entry, dict) or set(entry) != expected:
        found = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise ReferenceDataError(f"{where}: expected keys {sorted(expected)}, found {found}")


def _slug(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _SLUG.fullmatch(value):
        raise ReferenceDataError(f"{where}: {value!r} is not a slug (lowercase letters, digits, single hyphens)")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ReferenceDataError(f"{where}: must be a non-empty string")
    return value


def unit_to_dict(unit: Unit) -> dict[str, Any]:
    """JSON-safe form of a unit."""
    return {"id": unit.id, "name": unit.name, "kind": unit.kind}


def institution_to_dict(institution: Institution) -> dict[str, Any]:
    """JSON-safe form for the institution listing endpoint, units included."""
    return {
        "id": institution.id,
        "name": institution.name,
        "kind": institution.kind,
        "region_code": institution.region_code,
        "timezone": institution.timezone,
        "units": [unit_to_dict(unit) for unit in institution.units],
    }
