"""Browser tests: ONE headless Debian Chromium per test session (launching costs seconds), a fresh context per
test; the live system once per session. Playwright's sync API runs in the test's thread; the services run in a
background thread (tests/web/live.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .live import LiveSystem

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).resolve().parents[2] / "services" / "web" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
PHONE = {"width": 320, "height": 720}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API leaves its event loop marked as running in the main thread
    while the (session-wide) browser is open, which pytest-asyncio's tests cannot run beside."""
    uses_browser = [item for item in items if "browser" in getattr(item, "fixturenames", ())]
    if uses_browser:
        others = [item for item in items if "browser" not in getattr(item, "fixturenames", ())]
        items[:] = others + uses_browser


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSystem]:
    system = LiveSystem(tmp_path_factory.mktemp("live")).start()
    yield system
    system.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module (a launch is about a second): closed after the module, so that asyncio tests
    that a pytest-xdist worker runs after it find no Playwright loop left running in the main thread."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser: Any, live: LiveSystem) -> Iterator[Callable[..., Any]]:
    """`new_page(width=320)`: a page in a fresh browser context (no cookies) on the live web service."""
    contexts: list[Any] = []

    def make(width: int = PHONE["width"], height: int = PHONE["height"], **options: Any) -> Any:
        context = browser.new_context(base_url=live.web_url, viewport={"width": width, "height": height}, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


_axe_source: str | None = None


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run the pinned axe-core (services/web/node_modules) on the page; returns its violations (WCAG 2.2 AA
    and best practice). Evaluated through the DevTools protocol, so the page's CSP needs no exception."""
    global _axe_source
    if _axe_source is None:
        _axe_source = AXE.read_text()
    page.evaluate(_axe_source)
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


def assert_accessible(page: Any) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{page.url}: " + json.dumps(violations, indent=1)


def follow(control: Any) -> None:
    """Clicks a link or a form's button and returns once the page it opens has loaded. A bare click returns as soon
    as the navigation commits, so a read straight after it can meet the old page or a half-parsed new one: CI met
    it once, My caseload's search finding nobody."""
    with control.page.expect_navigation():
        control.click()
