"""The requester's 委托书 in a real phone-sized browser: the request page fits 390 px, a
signature drawn on its pad authorises the errand, and without one the tracking page asks for
it (a blank pad is not sent)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


def _phone(page: Any) -> Any:
    page.set_viewport_size({"width": 390, "height": 900})
    return page


def _fill_request(page: Any, base: str) -> None:
    page.goto(f"{base}/errand/new")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.select_option("select[name=item_id]", index=1)
    page.fill("input[name=contact_name]", "浏览器群众")
    page.fill("input[name=phone]", "13912348888")
    # no location on this phone: the town and the address instead
    page.select_option("select[name=town]", index=1)
    page.fill("input[name=address]", "江北大道1号3单元")


def _sign(page: Any) -> None:
    pad = page.locator("canvas[data-signature-pad]")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 30, box["y"] + 60)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 30 + step * 15, box["y"] + 60 + (12 if step % 2 else -12))
    page.mouse.up()


def _track(page: Any) -> None:
    link = page.locator("a[href^='/errand/track/']").first.get_attribute("href")
    page.goto(page.url.split("/errand/")[0] + link)


def test_a_signature_on_the_request_page_authorises_the_errand(live_server: str,
                                                                page: Any) -> None:
    _phone(page)
    _fill_request(page, live_server)
    _sign(page)
    page.click("button[type=submit]:has-text('提交代办')")
    _track(page)
    assert "已授权跑手代为领取" in page.content()
    assert page.locator("canvas[data-signature-pad]").count() == 0


def test_without_one_the_tracking_page_asks_and_refuses_a_blank_pad(live_server: str,
                                                                    page: Any) -> None:
    _phone(page)
    _fill_request(page, live_server)
    page.click("button[type=submit]:has-text('提交代办')")
    _track(page)
    assert "您尚未授权" in page.content()
    page.click("button[type=submit]:has-text('签署委托书')")
    assert page.locator("[data-signature-status]").inner_text() == "请先在框内签名"
    _sign(page)
    page.click("button[type=submit]:has-text('签署委托书')")
    page.wait_for_load_state("networkidle")
    assert "已签署委托书" in page.content() and "已授权跑手代为领取" in page.content()
