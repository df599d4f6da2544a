"""Browser journeys: Playwright (Python) driving Debian's Chromium against the live server.

Never a downloaded browser: ``/usr/bin/chromium`` from ``apt-get install chromium`` (``.ci/run``
installs it with ``fonts-noto-cjk`` so Chinese renders). Where no Chromium can be installed the
journeys are skipped with a message saying so.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls made by the
# test itself (arranging data) are synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if Path(CHROMIUM).exists():
        return
    reason = (
        f"no Chromium at {CHROMIUM}: install Debian's package (`apt-get install chromium "
        "fonts-noto-cjk`) to run the browser journeys"
    )
    if os.environ.get("CI"):
        # .ci/run installs Chromium; in CI a missing browser is a failure, not a skip.
        raise pytest.UsageError(reason)
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object, live_server: object) -> Iterator[object]:
    context = browser.new_context(  # type: ignore[attr-defined]
        base_url=live_server.url,  # type: ignore[attr-defined]
        viewport={"width": 1280, "height": 800},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def shoot(page: object, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def name_sources() -> None:
    """Journeys flush the database (``transaction=True``), and with it the source names the
    migration seeded: name the sources the journeys use again, and let the server see them."""
    from crm.models import SourceSystem
    from crm.selectors import forget_source_names

    for code, name_zh, name_en in (("pos", "门店收银", "Store POS"),):  # as 0012 seeds it
        SourceSystem.objects.get_or_create(
            code=code, defaults={"name_zh": name_zh, "name_en": name_en}
        )
    forget_source_names()
