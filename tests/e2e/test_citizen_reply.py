"""A citizen's 差评 in a real browser: it reaches the liaison's inbox at once (no job run in
between), and the citizen follows it on the tracking page and answers 满意 there."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_shell import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def browser(chromium_path: str) -> Iterator[Any]:
    """One browser: each person gets a context of their own (their own cookies)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"])
        yield chromium
        chromium.close()


def person(browser: Any, width: int = 1280) -> Any:
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})
    return context.new_page()


def unread(page: Any) -> int:
    badge = page.locator("header [data-testid=unread]")
    return int(badge.inner_text()) if badge.count() else 0


def file_bad_review(citizen: Any, base: str, comment: str) -> str:
    """Rate 巴州区 非常不满意 on the rating page; the tracking link it gives."""
    citizen.goto(f"{base}/rate?org=511902")
    citizen.check("input[name=level][value='1']")
    citizen.check("input[name=tags][value='服务态度']")
    citizen.fill("textarea[name=comment]", comment)
    citizen.click("button.primary.big")
    citizen.wait_for_selector("[data-testid=track-link]")
    return str(citizen.get_attribute("[data-testid=track-link] a", "href"))


def test_a_citizens_bad_review_reaches_the_liaisons_inbox_at_once(live_server: str,
                                                                  browser: Any) -> None:
    liaison = person(browser)
    log_in(liaison, live_server, "liaison")
    liaison.goto(f"{live_server}/inbox")
    before = unread(liaison)
    comment = f"窗口态度差 {uuid.uuid4().hex[:6]}"
    citizen = person(browser, width=390)
    file_bad_review(citizen, live_server, comment)
    liaison.goto(f"{live_server}/inbox")
    newest = liaison.locator("ul.inbox li").first
    assert "新差评工单" in newest.inner_text() and comment in newest.inner_text()
    assert "未读" in newest.inner_text()
    assert unread(liaison) == before + 1


def test_the_citizen_follows_the_case_and_answers_satisfied(live_server: str,
                                                           browser: Any) -> None:
    comment = f"材料要求没说清 {uuid.uuid4().hex[:6]}"
    citizen = person(browser, width=390)
    link = file_bad_review(citizen, live_server, comment)
    citizen.goto(f"{live_server}{link}")
    assert "待回访" in citizen.inner_text("[data-testid=track-status]")
    liaison = person(browser)
    log_in(liaison, live_server, "liaison")
    liaison.goto(f"{live_server}/inbox")
    liaison.locator("ul.inbox li", has_text=comment).locator("button").click()
    liaison.wait_for_url("**/reviews/cases/*")
    liaison.fill("[data-testid=note-callback]", "已电话回访，群众反映材料清单不清楚")
    liaison.click("[data-testid=case-callback]")
    for step in ("verify", "rectify"):
        liaison.click(f"[data-testid=case-{step}]")
    liaison.fill("[data-testid=note-reply]", "已在窗口张贴材料清单，并一次性告知")
    liaison.click("[data-testid=case-reply]")
    liaison.wait_for_selector("[data-testid=case-satisfied]")
    citizen.reload()
    assert "已在窗口张贴材料清单" in citizen.inner_text("[data-testid=track-reply]")
    citizen.click("[data-testid=answer-satisfied]")
    citizen.wait_for_selector("[data-testid=track-answered]")
    assert "您对整改结果表示满意，已办结" in citizen.inner_text("[data-testid=track-status]")
    liaison.reload()
    assert "满意（群众在评价跟踪页面答复）" in liaison.inner_text("[data-testid=follow-up]")
    assert liaison.locator("[data-testid=case-satisfied]").count() == 0
