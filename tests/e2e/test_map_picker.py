"""Where a tile layer is configured, the request page has a map to pick the pickup point: a
click fills the coordinates. The tiles' host joins the CSP's img-src and nothing else does.
(The tile host here does not exist: the map and its clicks work without a tile loaded.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_citizen_reply import person
from tests.live import serve

pytestmark = pytest.mark.browser

TILES = "https://tiles.invalid/{z}/{x}/{y}.png"


@pytest.fixture(scope="module")
def tiled_server(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[str]:
    del chromium_path
    with serve(tmp_path_factory.mktemp("tiles") / "tiles.db", demo=False, env={
            "TONGBAN_MAP_TILE_URL": TILES, "TONGBAN_MAP_TILE_ATTRIBUTION": "<b>测试图源</b>",
            "TONGBAN_ERRAND_DISPATCH_SECONDS": "0"}) as base:
        yield base


@pytest.fixture
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path,
                                              args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


def test_a_click_on_the_map_fills_the_pickup_point(tiled_server: str, browser: Any,
                                                   tmp_path: Path) -> None:
    page = person(browser, width=390)
    response = page.goto(f"{tiled_server}/errand/new")
    policy = response.headers["content-security-policy"]
    assert "img-src 'self' data: https://tiles.invalid;" in policy
    assert "script-src 'self';" in policy
    page.wait_for_selector(".leaflet-container")
    assert page.input_value("#lat") == ""
    box = page.locator("[data-map-picker]").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    lat, lng = float(page.input_value("#lat")), float(page.input_value("#lng"))
    assert abs(lat - 31.867) < 0.05 and abs(lng - 106.747) < 0.05  # the city's middle
    assert page.locator(".leaflet-control-attribution").inner_text().endswith("<b>测试图源</b>")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "picker.png"))
