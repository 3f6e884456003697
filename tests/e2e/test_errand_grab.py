"""Grabbing from the runner's phone page in a real browser: the runner sees the nearby pool,
grabs an errand, finds it under 我的代办 with its next step; a second runner who tries the
same errand gets 已被抢 and nothing changes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_citizen_reply import person
from tests.e2e.test_shell import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()


def test_a_runner_grabs_from_the_pool_and_a_second_runner_finds_it_taken(
        live_server: str, browser: Any) -> None:
    runner = person(browser, width=390)
    log_in(runner, live_server, "runner")
    runner.goto(f"{live_server}/errands/runner")
    button = runner.locator("[data-testid=pool] button[data-testid^=grab-]").first
    errand = re.sub(r"\D", "", str(button.get_attribute("data-testid")))
    assert errand, "the demo runner should see open errands nearby"
    assert runner.evaluate("document.documentElement.scrollWidth") <= 390
    button.click()
    runner.wait_for_load_state()
    assert f"抢单成功：代办 #{errand}" in runner.locator(".flash").inner_text()
    mine = runner.locator("[data-testid=mine]").inner_text()
    assert f"#{errand}" in mine and "已接单" in mine
    assert runner.locator(f"[data-testid=act-{errand}-pick_up]").count() == 1
    assert runner.locator(f"[data-testid=grab-{errand}]").count() == 0

    rival = person(browser, width=390)
    log_in(rival, live_server, "runner-05")
    rival.goto(f"{live_server}/errands/runner")
    token = rival.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = rival.request.post(f"{live_server}/errands/{errand}/grab",
                                form={"csrf_token": str(token)})
    assert answer.ok and f"代办 #{errand} 已被抢" in answer.text()
    runner.reload()
    assert f"#{errand}" in runner.locator("[data-testid=mine]").inner_text()
