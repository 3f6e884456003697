"""专项台账 in a real browser: a county liaison opens a township's entry from the board,
marks a power taken with its evidence file, and sees the status and the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_shell import log_in
from tests.factories import picture

pytestmark = pytest.mark.browser


def test_a_liaison_updates_an_entry_with_evidence(live_server: str, page: Any,
                                                  tmp_path: Path) -> None:
    log_in(page, live_server, "liaison")  # 巴州区's liaison
    page.goto(f"{live_server}/ledgers/township-powers")
    board = page.inner_text("[data-testid=board]")
    assert "东城街道" in board and "通江县" not in board
    page.click("[data-testid=board] >> text=东城街道")
    page.click("text=未承接 >> xpath=ancestor::tr//a")
    page.wait_for_selector("[data-testid=entry-form]")
    evidence = tmp_path / "承接文件.png"
    evidence.write_bytes(picture())
    page.select_option("[data-testid=entry-form] select[name=status]", "taken")
    page.fill("[data-testid=entry-form] textarea[name=notes]", "已签订承接协议")
    page.set_input_files("[data-testid=entry-form] input[name=evidence]", str(evidence))
    page.click("[data-testid=entry-form] button[type=submit]")
    page.wait_for_selector("[data-testid=evidence]")
    assert page.inner_text("[data-testid=status]") == "已承接"
    assert "承接文件.png" in page.inner_text("[data-testid=evidence]")
    assert "已保存台账条目和佐证材料" in page.content()
