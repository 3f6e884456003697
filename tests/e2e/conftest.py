"""A live server on a fresh SQLite demo database, and Debian's chromium through Playwright.

Never ``playwright install``: the browser is ``TONGBAN_CHROMIUM`` (default /usr/bin/chromium).
Without it these tests skip, or fail when ``TONGBAN_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


@contextmanager
def serve(db_path: Path, *, demo: bool, env: dict[str, str]) -> Iterator[str]:
    """``tongban serve`` on a free port over a fresh database (with the demo's data or none),
    ``env`` added to its settings; the base URL while the block runs."""
    env = {**os.environ, "TONGBAN_DATABASE_URL": f"sqlite:///{db_path}",
           "TONGBAN_ENV": "development", "TONGBAN_STATIC_VENDOR_DIR": str(ROOT / "node_modules"),
           "TONGBAN_REPORT_DIR": str(db_path.parent / "reports"), **env}
    tongban = [sys.executable, "-m", "tongban.cli"]
    for command in (["db", "upgrade"], ["demo", "load"]) if demo else (["db", "upgrade"],):
        subprocess.run([*tongban, *command], env=env, check=True, capture_output=True)
    port = _free_port()
    process = subprocess.Popen(
        [*tongban, "serve", "--port", str(port)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("服务未能在30秒内启动")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


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
