"""Reading the pages as a test must: the elements, labels, headings and text of an HTML document (stdlib only)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


@dataclass
class Document(HTMLParser):
    elements: list[Element] = field(default_factory=list)
    _open: list[Element] = field(default_factory=list)

    def __post_init__(self) -> None:
        HTMLParser.__init__(self, convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.elements.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                return

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    # ------------------------------------------------------------------------------------------ queries

    def all(self, tag: str, **attrs: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag and all(e.attrs.get(k) == v for k, v in attrs.items())]

    def by_id(self, element_id: str) -> Element | None:
        return next((e for e in self.elements if e.attrs.get("id") == element_id), None)

    def value(self, name: str) -> str | None:
        found = next((e for e in self.elements if e.tag == "input" and e.attrs.get("name") == name), None)
        return None if found is None else found.attrs.get("value", "")

    def headings(self) -> list[int]:
        return [int(e.tag[1]) for e in self.elements if re.fullmatch(r"h[1-6]", e.tag)]

    def text(self) -> str:
        body = next((e for e in self.elements if e.tag == "body"), None)
        return re.sub(r"\s+", " ", body.text if body else "")

    def controls(self) -> list[Element]:
        """Every control a person fills in (not hidden fields, not buttons)."""
        return [e for e in self.elements if e.tag in ("input", "select", "textarea")
                and e.attrs.get("type") not in ("hidden", "submit", "button")]


def parse(markup: str) -> Document:
    document = Document()
    document.feed(markup)
    document.close()
    return document


def accessibility_problems(markup: str) -> list[str]:
    """What DOMAIN's citizens on screen readers would trip over: unlabelled controls, dangling
    aria-describedby, duplicate ids, skipped heading levels, no lang, not exactly one h1."""
    document = parse(markup)
    problems = []
    html = document.all("html")
    if not html or html[0].attrs.get("lang") not in ("id", "en"):
        problems.append("no lang attribute on <html>")
    ids = [e.attrs["id"] for e in document.elements if "id" in e.attrs]
    problems += [f"duplicate id {i}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    labelled = {e.attrs.get("for") for e in document.all("label")}
    for control in document.controls():
        if control.attrs.get("id") not in labelled:
            problems.append(f"unlabelled {control.tag} {control.attrs.get('name')}")
    for element in document.elements:
        for described in element.attrs.get("aria-describedby", "").split():
            if described not in ids:
                problems.append(f"{element.tag} {element.attrs.get('name')} describedby missing #{described}")
    levels = document.headings()
    if levels.count(1) != 1 or levels[0] != 1:
        problems.append(f"headings must start with one h1: {levels}")
    for before, after in zip(levels, levels[1:], strict=False):
        if after > before + 1:
            problems.append(f"heading level skips from h{before} to h{after}")
    return problems
