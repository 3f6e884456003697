"""Readable in Chromium: no visible text under 14 px, and the admin's menu on one line at 1280 px."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_shell import log_in

pytestmark = pytest.mark.browser

#: Every element with visible text of its own under 14 px (details opened, so chart tables count).
SMALL_TEXT = """() => {
  document.querySelectorAll("details").forEach(d => { d.open = true; });
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") continue;
    const box = el.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) continue;
    let own = "";
    for (const node of el.childNodes) if (node.nodeType === 3) own += node.textContent;
    own = own.trim();
    if (own && parseFloat(style.fontSize) < 14)
      out.push(`${el.tagName.toLowerCase()}.${el.className} ${style.fontSize} 「${own.slice(0, 20)}」`);
  }
  return out;
}"""

KEY_PAGES = {
    "admin": ["/", "/orgs", "/assessment", "/assessment/bz-counties/2026-03/orgs/511902",
              "/assessment/adjustments", "/reviews", "/reviews/dashboard", "/rectification",
              "/rectification/risk", "/rectification/tasks/5", "/reports", "/admin/users",
              "/admin/calendar", "/admin/audit", "/inbox", "/account"],
    "liaison": ["/", "/assessment", "/reviews", "/rectification", "/rectification/risk",
                "/rectification/tasks/5", "/inbox"],
}


@pytest.mark.parametrize("username", sorted(KEY_PAGES))
def test_no_visible_text_is_under_14_px(live_server: str, page: Any, username: str) -> None:
    """Catches: any rule (a .small, a badge, the staff case page's 12 px) under 14 px."""
    log_in(page, live_server, username)
    small: dict[str, list[str]] = {}
    for path in KEY_PAGES[username]:
        response = page.goto(f"{live_server}{path}")
        assert response.status == 200, path
        found = page.evaluate(SMALL_TEXT)
        if found:
            small[path] = found[:5]
    assert small == {}


def test_a_negative_case_page_is_readable_for_its_liaison(live_server: str, page: Any) -> None:
    log_in(page, live_server, "liaison")
    page.goto(f"{live_server}/reviews")
    page.locator("[data-testid=case-list] a[href^='/reviews/cases/']").first.click()
    page.wait_for_load_state()
    assert page.evaluate(SMALL_TEXT) == []


@pytest.mark.parametrize("user", ["admin", "analyst", "leader"])
def test_the_menu_is_one_line_at_1280_px(live_server: str, page: Any, user: str) -> None:
    """Catches: a menu that wraps (the nav taller than one of its links) at 1280 px, for the
    roles with the most entries (the demo's names are long: 王敏（考核管理员）)."""
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, user)
    nav = page.locator("#mainnav")
    link = page.locator("#mainnav > a").first
    assert nav.bounding_box()["height"] <= link.bounding_box()["height"] + 2
    middles = page.evaluate("""() => [...document.querySelectorAll('#mainnav > *')]
        .map(e => e.getBoundingClientRect()).filter(r => r.width > 0 && r.height > 0)
        .map(r => (r.top + r.bottom) / 2)""")
    assert len(middles) >= 8 and max(middles) - min(middles) < 4
    if user != "admin":
        return  # the admin's 管理 menu holds every tool
    # The tools fold into 管理, which opens without any script of ours.
    page.click("[data-testid=nav-manage] summary")
    page.click("text=审计日志")
    page.wait_for_url(f"{live_server}/admin/audit")
