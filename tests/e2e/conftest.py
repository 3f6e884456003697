"""A live server on a fresh SQLite demo database, and Debian's chromium through Playwright.

Never ``playwright install``: the browser is ``TONGBAN_CHROMIUM`` (default /usr/bin/chromium).
Without it these tests skip, or fail when ``TONGBAN_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import serve

ROOT = Path(__file__).resolve().parents[2]


def _chromium_path() -> str | None:
    candidate = os.environ.get("TONGBAN_CHROMIUM", "/usr/bin/chromium")
    return candidate if Path(candidate).exists() else shutil.which("chromium")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _chromium_path()
    if path is None:
        message = "未找到 chromium（apt-get install chromium）"
        if os.environ.get("TONGBAN_REQUIRE_BROWSER") == "1":
            pytest.fail(message + "；TONGBAN_REQUIRE_BROWSER=1 要求必须运行")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def live_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the live server keeps its SQLite database."""
    return tmp_path_factory.mktemp("live") / "live.db"


@pytest.fixture(scope="session")
def live_server(live_database: Path, chromium_path: str) -> Iterator[str]:
    """``tongban serve`` on a free port over a fresh demo database; yields its base URL."""
    del chromium_path
    with serve(live_database, demo=True, env={
            # The load tests send many ratings from one address; tests/security checks it.
            "TONGBAN_REVIEW_RATE_PER_CLIENT": "100000",
            # The pages see the demo's errands as loaded (the dispatcher's own tests run it).
            "TONGBAN_ERRAND_DISPATCH_SECONDS": "0"}) as base:
        yield base


@pytest.fixture
def page(chromium_path: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        yield context.new_page()
        context.close()
        browser.close()
