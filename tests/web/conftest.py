"""Browser tests: Debian's Chromium (/usr/bin/chromium) driven by Playwright against a real `lapor serve`
(DynamoDB Local underneath). Playwright's own browser downloads are never used (`make setup` installs the
Debian package as root; otherwise it says what to install). A missing browser fails these tests, never skips."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.e2e.support import LocalServer, bearer

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[LocalServer]:
    home = tmp_path_factory.mktemp("web") / "home"
    home.mkdir()
    running = LocalServer(home).start()
    yield running
    try:
        running.stop()
    finally:
        running.kill()  # a no-op after a clean stop


@pytest.fixture(scope="session")
def staff(server) -> dict[str, dict[str, str]]:
    """Bearer headers from `lapor token`, as an operator would mint them for the running server."""
    return {"nasional": bearer(server.home, "--role", "admin_nasional"),
            "admin": bearer(server.home, "--role", "admin_instansi", "--institution", "pemkot-samarinda"),
            "liaison": bearer(server.home, "--role", "admin_penghubung", "--institution", "pemkot-samarinda",
                              "--unit", "dinas-pupr")}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"the browser tests drive Debian's Chromium at {CHROMIUM}: run `make setup` as root, or "
                    "`apt-get install chromium`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def reload_until(page: Any, text: str, timeout: float = 30) -> None:
    """The stream brings the views a moment after each command; a person would reload."""
    deadline = time.monotonic() + timeout
    while text not in page.locator("main").inner_text():
        assert time.monotonic() < deadline, f"{text!r} never appeared:\n{page.locator('main').inner_text()}"
        time.sleep(0.2)
        page.reload()
