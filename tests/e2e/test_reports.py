"""Reports in a real browser: pick a report, preview it, generate it, download the Word file."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_shell import log_in

pytestmark = pytest.mark.browser


def test_pick_preview_generate_and_download_a_quarterly_report(live_server: str, page: Any) -> None:
    log_in(page, live_server, "analyst")
    page.goto(f"{live_server}/reports")
    page.select_option("#report-kind", "quarterly")
    assert page.locator("#report-quarter").is_enabled()
    assert not page.locator("#report-month").is_enabled()
    page.select_option("#report-cohort", "sichuan-cities")
    page.select_option("#report-quarter", "2026Q1")
    page.click("[data-testid=preview]")
    page.wait_for_selector("[data-testid=report-document]")
    assert page.inner_text("h1.doc-title") == "2026年第一季度四川省的21个市(州)考评调度情况"
    assert "2月可保持全省第1名" in page.inner_text("[data-testid=report-document]")
    assert page.locator(".doc-chart img").count() >= 1
    assert page.evaluate("document.querySelector('.doc-chart img').naturalWidth") > 300
    page.click("[data-testid=generate]")
    page.wait_for_selector("[data-testid=download-docx]")
    with page.expect_download() as download:
        page.click("[data-testid=download-docx]")
    assert download.value.suggested_filename == "2026年第一季度四川省的21个市(州)考评调度情况.docx"
