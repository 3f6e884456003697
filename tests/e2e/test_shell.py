"""The web shell in a real browser: log in as the demo analyst, see the chart, log out."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tongban.demo.city import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def log_in(page: Any, base: str, username: str) -> None:
    """Log in through the login form as a demo user."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    # every role lands on its home page; a runner's is its work page
    page.wait_for_url(re.compile(re.escape(base) + r"/(errands/runner)?$"))


@pytest.mark.parametrize(("username", "name", "tile"), [
    ("analyst", "王敏", "data-status"), ("leader", "李建国", "city-rank"),
    ("liaison", "张丽", "todos")])
def test_each_role_logs_in_to_its_own_home_page_and_logs_out(
        live_server: str, page: Any, username: str, name: str, tile: str) -> None:
    page.goto(f"{live_server}/")
    assert page.url.startswith(f"{live_server}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    assert name in page.inner_text("header")
    assert page.locator(f"[data-testid={tile}]").is_visible()
    page.click("[data-testid=logout]")
    page.wait_for_url(f"{live_server}/login")
    assert page.locator("input[name=username]").is_visible()


def test_org_search_by_pinyin_initials_updates_as_you_type(live_server: str, page: Any) -> None:
    log_in(page, live_server, "leader")
    page.goto(f"{live_server}/orgs")
    page.fill("[data-testid=org-search]", "bz")
    page.wait_for_selector("[data-testid=org-results] >> text=巴中市", timeout=10_000)


def test_whatif_panel_answers_in_place(live_server: str, page: Any) -> None:
    log_in(page, live_server, "analyst")
    page.goto(f"{live_server}/assessment/sichuan-cities/2026-02/orgs/511900")
    page.wait_for_selector("#chart-trend canvas", timeout=10_000)
    page.check("[data-testid=whatif-form] input[name=drop]")
    page.click("[data-testid=whatif-form] button[type=submit]")
    result = page.wait_for_selector("[data-testid=whatif-result]", timeout=10_000)
    assert "第1名" in result.inner_text()
