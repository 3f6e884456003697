"""The dispatcher's console in a real browser: a waiting errand handed to a runner by hand
with a reason, another cancelled after a confirmation (errands of counties other than 巴州区,
whose pool the runner's test grabs from)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_citizen_reply import browser, person  # noqa: F401  (the fixture)
from tests.e2e.test_shell import log_in

pytestmark = pytest.mark.browser


def _row(page: Any, zone: str) -> Any:
    return page.locator("[data-testid=console-queue] tbody tr", has_text=zone).first


def test_a_dispatcher_assigns_and_cancels_from_the_queue(live_server: str,
                                                        browser: Any) -> None:  # noqa: F811
    page = person(browser, width=1280)
    log_in(page, live_server, "analyst")
    page.goto(f"{live_server}/errands/console")
    row = _row(page, "南江县")
    number = row.locator("td").first.inner_text().strip("#")
    row.locator("summary").click()
    form = row.locator("form[action$='/assign']")
    choice = form.locator("select[name=runner] option").first.inner_text()
    form.locator("input[name=reason]").fill("多轮无人接单，电话联系后指派")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert f"代办 #{number} 已派给" in page.locator(".flash").first.inner_text()
    assert choice.split("（")[0] in _row(page, "南江县").inner_text() or \
        "已派单" in page.locator("[data-testid=console-queue]").inner_text()

    row = _row(page, "通江县")
    doomed = row.locator("td").first.inner_text().strip("#")
    row.locator("summary").click()
    form = row.locator("form[action$='/cancel']")
    form.locator("input[name=reason]").fill("申请人来电撤销")
    page.once("dialog", lambda dialog: dialog.accept())  # 确定取消该代办？
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert f"代办 #{doomed} 已取消" in page.locator(".flash").first.inner_text()
    assert f"#{doomed}<" not in page.locator("[data-testid=console-queue]").inner_html()
