"""The two-level topic tree reports are filed under (DOMAIN §10), from ``data/categories.json``.

The file is written as a tree, so a third level cannot be expressed by accident; it is validated when
loaded (slug ids, a child's id prefixed by its parent's, no duplicates) because events store these ids.
"""
from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .regions import ReferenceDataError

__all__ = [
    "DEFAULT_CATEGORIES_PATH",
    "Category",
    "category_to_dict",
    "category_tree",
    "load_categories",
]

DEFAULT_CATEGORIES_PATH = Path(__file__).resolve().parent / "data" / "categories.json"

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TOP_KEYS = frozenset({"id", "name", "children"})
_CHILD_KEYS = frozenset({"id", "name"})


@dataclass(frozen=True)
class Category:
    """A topic. Top-level ones have ``parent_id`` None; children have ids like "infrastruktur.jalan-rusak"."""

    id: str
    name: str
    parent_id: str | None


def load_categories(path: Path = DEFAULT_CATEGORIES_PATH) -> dict[str, Category]:
    """Reads and validates the category tree; each parent comes right before its children, in file order."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ReferenceDataError(f"cannot read categories file {path}: {error}") from error
    entries = document.get("categories") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ReferenceDataError(f"{path}: expected an object with a non-empty 'categories' list")

    categories: dict[str, Category] = {}

    def add(category: Category) -> None:
        if category.id in categories:
            raise ReferenceDataError(f"{path.name}: duplicate category id {category.id!r}")
        categories[category.id] = category

    for position, entry in enumerate(entries):
        where = f"{path.name} categories[{position}]"
        _check_keys(entry, _TOP_KEYS, where)
        parent_id = entry["id"]
        if not isinstance(parent_id, str) or not _SLUG.fullmatch(parent_id):
            raise ReferenceDataError(f"{where}: id {parent_id!r} is not a slug")
        add(Category(id=parent_id, name=_text(entry["name"], f"category {parent_id!r}"), parent_id=None))

        children = entry["children"]
        if not isinstance(children, list):
            raise ReferenceDataError(f"category {parent_id!r}: children must be a list")
        for child_position, child in enumerate(children):
            child_where = f"category {parent_id!r} children[{child_position}]"
            # Only id and name are allowed, so a nested "children" (a third level) is rejected here.
            _check_keys(child, _CHILD_KEYS, child_where)
            child_id = child["id"]
            prefix, _, own = child_id.partition(".") if isinstance(child_id, str) else ("", "", "")
            if prefix != parent_id or not _SLUG.fullmatch(own):
                raise ReferenceDataError(f"{child_where}: id {child_id!r} must be '{parent_id}.<slug>'")
            add(Category(id=child_id, name=_text(child["name"], f"category {child_id!r}"), parent_id=parent_id))
    return categories


def _check_keys(entry: Any, expected: frozenset[str], where: str) -> None:
    if not isinstance(entry, dict) or set(entry) != expected:
        found = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise ReferenceDataError(f"{where}: expected keys {sorted(expected)}, found {found}")


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ReferenceDataError(f"{where}: name must be a non-empty string")
    return value


def category_to_dict(category: Category) -> dict[str, Any]:
    """JSON-safe form of one category."""
    return {"id": category.id, "name": category.name, "parent_id": category.parent_id}


def category_tree(categories: Collection[Category]) -> list[dict[str, Any]]:
    """The listing endpoint's shape: top-level categories, each with its ``children``, in the given order."""
    tree: dict[str, dict[str, Any]] = {}
    for category in categories:
        if category.parent_id is None:
            tree[category.id] = {**category_to_dict(category), "children": []}
    for category in categories:
        if category.parent_id is not None:
            tree[category.parent_id]["children"].append(category_to_dict(category))
    return list(tree.values())
