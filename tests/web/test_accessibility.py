"""axe-core (the npm package `make setup` pins into .venv/web-assets) on every page in Chromium against
`lapor serve`, in both languages: no `serious` or `critical` violation. The pages' policy allows no inline
script, so the test's browser context bypasses it to inject axe (the pages themselves are not changed)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from playwright.sync_api import Page

from tests.e2e.support import REPORT, call, wait_for

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".venv" / "web-assets" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


@pytest.fixture(scope="module")
def every_page(server, staff) -> dict[str, Callable[[Page], None]]:
    """A verified public report and a fresh one to track (its token posted through the Lacak form)."""
    status, public = call("POST", f"{server.base}/reports", REPORT | {"title": "Lampu taman mati"})
    assert status == 201, public
    status, body = call("POST", f"{server.base}/reports/{public['report_id']}/verification",
                        {"institution_id": "pemkot-samarinda", "region_code": "64.72",
                         "category_id": REPORT["category_id"]}, headers=staff["nasional"])
    assert status == 200, body
    status, tracked = call("POST", f"{server.base}/reports", REPORT)
    assert status == 201, tracked
    wait_for(server.base, public["report_id"], staff["nasional"], "disposed")  # its view, which the public page reads

    def tracking(page: Page, lang: str = "id") -> None:
        page.goto(f"{server.base}/lacak?lang={lang}")
        page.fill("#f-report_id", tracked["report_id"])
        page.fill("#f-token", tracked["access_token"])
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_url(f"**/lacak/{tracked['report_id']}")

    def goto(path: str) -> Callable[[Page], None]:
        return lambda page: page.goto(server.base + path)

    pages = {"lapor": goto("/"), "lacak": goto("/lacak"), "laporan": goto("/laporan"),
             "laporan-detail": goto(f"/laporan/{public['report_id']}"), "not-found": goto("/laporan/LAP-2222222222"),
             "statistik": goto("/statistik?region=64.72"), "statistik-nasional": goto("/statistik"),
             "statistik-instansi": goto("/statistik?institution=pemkot-samarinda"),
             "peringkat": goto("/statistik/peringkat"),
             "peringkat-kabkota": goto("/statistik/peringkat?level=regency&province=64"),
             "lapor-errors": lambda page: (page.goto(server.base + "/"),
                                           page.locator("main form button[type=submit]").last.click()),
             "lacak-laporan": tracking}
    english = {f"{name}-en": (lambda page, reach=reach: reach(page, "en")) if name == "lacak-laporan"
               else (lambda page, name=name: (pages[name](page), page.goto(page.url + ("&" if "?" in page.url
                                                                                       else "?") + "lang=en")))
               for name, reach in pages.items() if name not in ("lapor-errors",)}
    return pages | english


def _violations(browser: Any, reach: Callable[[Page], None], width: int) -> list[dict[str, Any]]:
    context = browser.new_context(bypass_csp=True, viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        reach(page)
        page.wait_for_load_state("load")
        page.add_script_tag(path=str(AXE))
        found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
        return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5],
                 "url": page.url} for v in found if v["impact"] in BLOCKING]
    finally:
        context.close()


@pytest.mark.parametrize("width", [360, 1280])
def test_axe_finds_no_serious_or_critical_violation_on_any_page(browser, every_page, width):
    """At a phone's 360 px and a desktop's 1280 px: the wide layout places the same markup differently (the
    filters side by side, tables unscrolled), which can hide, overlap or recolour what the narrow one shows."""
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed at {AXE}: run `make setup`")
    assert len(every_page) >= 20
    found = {name: v for name, reach in every_page.items() if (v := _violations(browser, reach, width))}
    assert found == {}


def test_axe_as_run_here_does_find_what_it_must(browser):
    """The check above could pass by not running: on a page with an unlabelled field and grey-on-grey text the
    same run reports both as serious or critical."""
    broken = ('<!doctype html><html lang="id"><head><title>x</title></head><body><main><h1>x</h1>'
              '<input type="text"><p class="faint">teks pucat</p></main></body></html>')

    def reach(page: Page) -> None:
        page.set_content(broken)
        page.add_style_tag(content=".faint{color:#bbb;background:#ccc}")

    assert {v["id"] for v in _violations(browser, reach, 360)} >= {"label", "color-contrast"}
