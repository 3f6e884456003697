"""Each kind of report rendered by LibreOffice: the title fits, the 文号 and 落款 are printed,
no table row is split across pages and a table's header repeats on every page it spans.

Needs ``soffice`` (Debian: libreoffice-writer-nogui) and ``pdftotext`` (poppler-utils); without
them these tests skip, or fail when ``TONGBAN_REQUIRE_LIBREOFFICE=1`` (as in CI).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tongban.core.security import SYSTEM_ACTOR
from tongban.reports import service, word
from tongban.reports.document import Document, Table
from tongban.reports.enums import ReportKind
from tongban.reports.service import ReportRequest

REQUESTS = {
    "monthly": ReportRequest(ReportKind.monthly, cohort="sichuan-cities", period="2026-02"),
    "weekly": ReportRequest(ReportKind.weekly, as_of=date(2026, 3, 30)),
    "quarterly": ReportRequest(ReportKind.quarterly, cohort="bz-counties", period="2026Q1"),
}


@pytest.fixture(scope="session")
def soffice() -> str:
    found = shutil.which("soffice")
    if found is None or shutil.which("pdftotext") is None:
        message = "未找到 soffice 或 pdftotext（apt-get install libreoffice-writer-nogui poppler-utils）"
        if os.environ.get("TONGBAN_REQUIRE_LIBREOFFICE") == "1":
            pytest.fail(message + "；TONGBAN_REQUIRE_LIBREOFFICE=1 要求必须运行")
        pytest.skip(message)
    return found


def to_pdf(soffice: str, docx: Path) -> list[str]:
    """The DOCX converted by LibreOffice (公文 fonts falling back to Noto CJK); each page's
    text without white space."""
    fonts = docx.parent / "fonts.conf"
    fonts.write_text(word.fontconfig_aliases())
    subprocess.run([soffice, f"-env:UserInstallation=file://{docx.parent / 'profile'}",
                    "--headless", "--convert-to", "pdf", "--outdir", str(docx.parent), str(docx)],
                   check=True, capture_output=True, timeout=180,
                   env={**os.environ, "FONTCONFIG_FILE": str(fonts), "HOME": str(docx.parent)})
    text = subprocess.run(["pdftotext", "-raw", str(docx.with_suffix(".pdf")), "-"], check=True,
                          capture_output=True, text=True).stdout
    return [re.sub(r"\s+", "", page) for page in text.split("\f")[:-1]]


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def rows_by_page(table: Table, pages: list[str]) -> list[set[int]]:
    """For each row, the pages that show every one of its cells."""
    out = []
    for row in table.rows:
        texts = [compact(c.shown(col.kind)) for c, col in zip(row, table.columns, strict=True)]
        out.append({n for n, page in enumerate(pages)
                    if all(t in page for t in texts if len(t) > 1)})
    return out


@pytest.mark.parametrize("kind", list(REQUESTS))
def test_libreoffice_renders_the_report_as_an_office_sends_it(
        db: Session, tmp_path: Path, soffice: str, kind: str) -> None:
    document: Document = service.build(db, actor=SYSTEM_ACTOR, request=REQUESTS[kind])
    report, _ = service.generate(db, actor=SYSTEM_ACTOR, request=REQUESTS[kind])
    db.commit()
    docx = tmp_path / f"{kind}.docx"
    docx.write_bytes(next(service.path_of(f) for f in report.files
                          if f.format == "docx").read_bytes())
    pages = to_pdf(soffice, docx)
    first, last = pages[0], pages[-1]
    assert first.startswith(compact(document.issuer) + compact(report.doc_number))
    text = subprocess.run(["pdftotext", "-raw", "-l", "1", str(docx.with_suffix(".pdf")), "-"],
                          check=True, capture_output=True, text=True).stdout
    lines = [compact(line) for line in text.splitlines() if line.strip()]
    title = compact(document.title)
    assert title in (lines[2], lines[2] + lines[3]), f"标题不在一两行内：{lines[:5]}"  # 版头, 文号 above
    assert compact(document.issuer + document.date_line) in last  # 落款 and 成文日期
    body_on_last = re.sub(r"—\d+—", "", last.replace(
        compact(document.issuer + document.date_line), ""))
    assert body_on_last, "落款独占一页"  # GB/T 9704: the body's end goes with it
    for table in document.tables():
        if not table.rows:
            continue
        where = rows_by_page(table, pages)
        assert all(where), f"「{table.title}」有行未完整出现在同一页：" + str(
            [r for r, w in zip(table.rows, where, strict=True) if not w][:1])
        spanned = set().union(*where)
        header = "".join(compact(c.label) for c in table.columns)
        assert all(header in pages[n] for n in spanned), f"「{table.title}」续页没有表头"


@pytest.mark.parametrize(("title", "lines"), [
    ("巴中市县区类2026年3月考评情况通报", ["巴中市县区类2026年3月考评情况通报"]),
    ("2026年第一季度四川省的21个市(州)考评调度情况",
     ["2026年第一季度", "四川省的21个市(州)考评调度情况"]),
    ("甘孜藏族自治州阿坝藏族羌族自治州凉山彝族自治州考核通报名单汇总表",
     ["甘孜藏族自治州阿坝藏族羌族自治州凉山彝族自治州考核通报名单汇总表"])])
def test_a_long_title_breaks_after_its_period_not_mid_word(title: str, lines: list[str]) -> None:
    assert word.title_lines(title) == lines
