"""On a phone (390 px) every list reads as cards: no sideways scrolling, labels on each value."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_shell import log_in

LISTS = ["/reviews", "/rectification", "/assessment", "/assessment/adjustments",
         "/admin/audit", "/admin/users"]


@pytest.mark.parametrize("path", LISTS)
def test_a_list_is_cards_without_sideways_scrolling_at_390_px(live_server: str, page: Any,
                                                              path: str) -> None:
    """Catches: a table left wider than the phone (the old min-width scroll), or cards
    without their labels."""
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, "admin")
    page.goto(f"{live_server}{path}")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    table = page.locator("table.data").first
    if table.count():
        assert page.evaluate(
            "getComputedStyle(document.querySelector('table.data tbody tr')).display") == "block"
        assert page.locator("table.data tbody td[data-label]").count() > 0
