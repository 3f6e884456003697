"""Reports quote a scored period from its score sheet, never from live tables: a late import
changes no published figure, and a report built on a draft says 草稿 on every page."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date

import pytest
from docx import Document as open_docx
from docx.oxml.ns import qn
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tests.reports.test_documents import docx_text
from tests.reviews.test_intake import HEADER, row
from tongban.assessment import service as assessment
from tongban.core.numbers import plain
from tongban.core.security import SYSTEM_ACTOR
from tongban.core.workdays import local_today
from tongban.org import service as org_service
from tongban.reports import service, sources
from tongban.reports.document import DRAFT_MARK, Cell, CellKind, Document
from tongban.reports.enums import ReportFormat, ReportKind
from tongban.reports.service import ReportRequest
from tongban.reviews import service as reviews

PUBLISHED = ReportRequest(ReportKind.monthly, cohort="bz-counties", period="2026-03")
DRAFT = ReportRequest(ReportKind.monthly, cohort="bz-counties", period="2026-04")


def review_table(document: Document) -> list[list[object]]:
    [table] = [t for t in document.tables() if t.sheet == "好差评"]
    return [[cell.value for cell in r] for r in table.rows]


def test_the_review_table_is_the_sheets_and_late_reviews_change_nothing(db: Session) -> None:
    sheet = assessment.require_sheet(db, cohort_code="bz-counties", period="2026-03")
    assert sheet.status == "published"
    before = service.build(db, actor=SYSTEM_ACTOR, request=PUBLISHED)
    rows = review_table(before)
    line = next(ln for ln in sheet.lines if ln.org.name == "巴州区")
    scored = assessment.line_values(line)
    mine = next(r for r in rows if r[0] == "巴州区")
    assert mine[1] == scored["reviews"]  # 评价数
    assert mine[2] == scored["good_reviews"] and mine[4] == scored["bad_reviews"]
    assert mine[7] == scored["cases_handled"]  # 办件量, the denominator of 主动评价率
    late = "".join(row(f"late-{n}", level="1", case=f"L{n}", rated="2026-03-20 10:00:00")
                   for n in range(5))
    reviews.import_reviews(db, actor=SYSTEM_ACTOR, filename="迟到.csv",
                           source=io.BytesIO((HEADER + late).encode()))
    reviews.record_metrics(db, period="2026-03", as_of=local_today())
    after = service.build(db, actor=SYSTEM_ACTOR, request=PUBLISHED)
    assert review_table(after) == rows
    assert after.content_key() == before.content_key()


def test_a_report_on_a_draft_says_so_on_every_page_of_every_format(db: Session) -> None:
    draft = service.build(db, actor=SYSTEM_ACTOR, request=DRAFT)
    published = service.build(db, actor=SYSTEM_ACTOR, request=PUBLISHED)
    assert draft.draft and not published.draft
    files = service.render(draft)
    header = open_docx(io.BytesIO(files[ReportFormat.docx])).sections[0].header
    assert DRAFT_MARK in header.paragraphs[0].text  # the header repeats on every page
    book = load_workbook(io.BytesIO(files[ReportFormat.xlsx]))
    assert book["说明"]["A1"].value == DRAFT_MARK
    assert all(DRAFT_MARK in (s.oddHeader.center.text or "") for s in book.worksheets[1:])
    assert DRAFT_MARK in files[ReportFormat.html].decode()
    clean = service.render(published)
    with zipfile.ZipFile(io.BytesIO(clean[ReportFormat.docx])) as archive:
        assert not any("草稿" in archive.read(n).decode("utf-8", "ignore")
                       for n in archive.namelist() if n.endswith(".xml"))
    assert DRAFT_MARK not in clean[ReportFormat.html].decode()


# ---------------------------------------------------------------- every format quotes the sheet


def format_tables(files: dict[ReportFormat, bytes]) -> dict[ReportFormat, dict[str, list[list[str]]]]:
    """Every table of the three renderings by title, as text: header row first."""
    from lxml import html as lxml_html

    docx = open_docx(io.BytesIO(files[ReportFormat.docx]))
    by_docx: dict[str, list[list[str]]] = {}
    previous = None
    for child in docx.element.body.iterchildren():
        if child.tag == qn("w:tbl") and previous:
            by_docx[previous] = [[c.xpath("string(.)") for c in r.iterchildren(qn("w:tc"))]
                                 for r in child.iterchildren(qn("w:tr"))]
        if child.tag == qn("w:p"):
            previous = child.xpath("string(.)")
    page = lxml_html.fromstring(files[ReportFormat.html])
    by_html = {t.findtext("caption"): [[c.text_content() for c in r.xpath("./th|./td")]
                                       for r in t.xpath(".//tr")]
               for t in page.xpath("//table")}
    return {ReportFormat.docx: by_docx, ReportFormat.html: by_html}


def workbook_rows(files: dict[ReportFormat, bytes], sheet: str) -> list[dict[str, object]]:
    book = load_workbook(io.BytesIO(files[ReportFormat.xlsx]))
    rows = list(book[sheet].iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def shown(kind: CellKind, value: object) -> str:
    return Cell(value).shown(kind)  # type: ignore[arg-type]


def test_every_scored_figure_of_the_monthly_report_is_the_sheets_in_every_format(
        db: Session) -> None:
    sheet = assessment.read_sheet(db, actor=SYSTEM_ACTOR, cohort_code="bz-counties",
                                  period="2026-03")
    files = service.render(service.build(db, actor=SYSTEM_ACTOR, request=PUBLISHED))
    league = workbook_rows(files, "排名")
    assert not any(row.adjustment_total for row in sheet.rows)  # no 指标得分/加扣分 columns
    assert [(r["名次"], r["单位"], r["总分"], r["等次"]) for r in league] \
        == [(row.rank, row.org_name, row.total, row.grade.label) for row in sheet.rows]
    title = "巴中市县区类2026年3月考评排名"
    for fmt, tables in format_tables(files).items():
        assert [r[:3] + r[4:] for r in tables[title][1:]] == [
            [shown(CellKind.rank, row.rank), row.org_name, shown(CellKind.points, row.total),
             row.grade.label] for row in sheet.rows], fmt
    # each review figure in the column its header names, numerators over denominators
    by_name = {row.org_name: row.values for row in sheet.rows}
    review_rows = workbook_rows(files, "好差评")
    assert review_rows
    for r in review_rows:
        values = by_name[str(r["单位"])]
        total = values["reviews"]
        assert (r["评价数"], r["好评数"], r["差评数"]) == (
            total, values["good_reviews"], values["bad_reviews"])
        assert r["好评率"] == pytest.approx(values["good_reviews"] / total, abs=5e-5)
        assert r["差评率"] == pytest.approx(values["bad_reviews"] / total, abs=5e-5)
        assert r["满意度"] == values.get("satisfaction_index")
        assert r["办件量"] == values["cases_handled"]
        assert r["按期整改"] == values.get("ontime_rectified", 0)
        assert r["应整改差评"] == values.get("bad_cases_due", 0)


def test_the_monthly_reports_adjustments_are_the_sheets_with_their_reasons(db: Session) -> None:
    sheet = assessment.read_sheet(db, actor=SYSTEM_ACTOR, cohort_code="sichuan-cities",
                                  period="2026-02")
    request = ReportRequest(ReportKind.monthly, cohort="sichuan-cities", period="2026-02")
    files = service.render(service.build(db, actor=SYSTEM_ACTOR, request=request))
    adjustments = workbook_rows(files, "加扣分")
    expected = sorted((row.org_name, a.points, a.reason, sources.cited(a, sheet.period))
                      for row in sheet.rows for a in row.adjustments)
    assert any(points == -2.6 for _, points, _, _ in expected)
    assert sorted((str(r["单位"]), r["分值"], r["原因"], r["来源"]) for r in adjustments) \
        == expected
    league = {r["单位"]: r for r in workbook_rows(files, "排名")}
    assert [(league[row.org_name]["指标得分"], league[row.org_name]["加扣分"]) for row in sheet.rows] \
        == [(row.indicator_total, row.adjustment_total) for row in sheet.rows]


def test_sources_are_cited_by_name_never_by_file_line(db: Session) -> None:
    request = ReportRequest(ReportKind.monthly, cohort="sichuan-cities", period="2026-02")
    files = service.render(service.build(db, actor=SYSTEM_ACTOR, request=request))
    cited = {str(r["来源"]) for r in workbook_rows(files, "加扣分")}
    assert "2026年2月省考核通报" in cited
    for fmt, content in files.items():
        text = docx_text(open_docx(io.BytesIO(content))) if fmt is ReportFormat.docx else (
            "\n".join(str(v) for ws in load_workbook(io.BytesIO(content)).worksheets
                      for row in ws.iter_rows(values_only=True) for v in row if v)
            if fmt is ReportFormat.xlsx else content.decode())
        assert not re.search(r"\.(csv|xlsx)|第\d+行|rectification_task", text), fmt


def test_the_quarterly_report_quotes_each_months_sheet(db: Session) -> None:
    request = ReportRequest(ReportKind.quarterly, cohort="sichuan-cities", period="2026Q1")
    files = service.render(service.build(db, actor=SYSTEM_ACTOR, request=request))
    months = assessment.read_sheets(db, actor=SYSTEM_ACTOR, cohort_code="sichuan-cities",
                                    periods=["2026-01", "2026-02", "2026-03"])
    assert len(months) == 3
    rows = workbook_rows(files, "各月名次")
    assert len(rows) == len(months[-1].rows)
    for r in rows:
        org = next(row for row in months[-1].rows if row.org_name == r["单位"])
        assert [r[f"{m}名次"] for m in ("1月", "2月", "3月")] == [
            sheet.row_of(org.org_id).rank for sheet in months]  # type: ignore[union-attr]
        assert r["3月总分"] == org.total and r["3月等次"] == org.grade.label
    for tables in format_tables(files).values():
        [ranks] = [t for title, t in tables.items() if title.endswith("各月名次")]
        assert [row[0] for row in ranks[1:]] == [r["单位"] for r in rows]
        assert [row[4] for row in ranks[1:]] == [shown(CellKind.points, r["3月总分"]) for r in rows]


def test_the_weekly_bulletin_quotes_the_latest_sheet_and_dates_its_live_figures(
        db: Session) -> None:
    document = service.build(db, actor=SYSTEM_ACTOR, request=ReportRequest(
        ReportKind.weekly, as_of=date(2026, 4, 30)))
    assert document.as_of.startswith("整改任务、差评工单和评价数截至")
    files = service.render(document)
    city = org_service.resolve_org(db, ref="511900")
    latest = assessment.latest_view_of(db, actor=SYSTEM_ACTOR, org=city, published=True)
    assert latest is not None and latest.period == "2026-03"  # April is a draft
    row = latest.row_of(city.id)
    assert row is not None
    said = f"{city.name}得{plain(row.total)}分，全省排第{row.rank}名（共{len(latest.rows)}个）"
    text = "\n".join(p.text for p in open_docx(io.BytesIO(files[ReportFormat.docx])).paragraphs)
    assert said in text and document.as_of in text
    html = files[ReportFormat.html].decode()
    assert said in re.sub(r"<[^>]+>", "", html) and document.as_of in html
    book = load_workbook(io.BytesIO(files[ReportFormat.xlsx]))
    assert document.as_of in [c.value for (c,) in book["说明"].iter_rows(max_col=1)]
    # the time of reading is not what the bulletin says: read again, archived once
    again = service.build(db, actor=SYSTEM_ACTOR, request=ReportRequest(
        ReportKind.weekly, as_of=date(2026, 4, 30)))
    assert again.content_key() == document.content_key()


def test_no_report_of_a_published_period_changes_when_data_arrives_late(db: Session) -> None:
    quarter = ReportRequest(ReportKind.quarterly, cohort="bz-counties", period="2026Q1")
    before = [service.build(db, actor=SYSTEM_ACTOR, request=r).content_key()
              for r in (PUBLISHED, quarter)]
    assert not service.build(db, actor=SYSTEM_ACTOR, request=quarter).draft
    late = "".join(row(f"late-q-{n}", level="1", case=f"Q{n}", rated="2026-02-10 10:00:00")
                   for n in range(4))
    reviews.import_reviews(db, actor=SYSTEM_ACTOR, filename="迟到.csv",
                           source=io.BytesIO((HEADER + late).encode()))
    for period in ("2026-01", "2026-02", "2026-03"):
        reviews.record_metrics(db, period=period, as_of=local_today())
    after = [service.build(db, actor=SYSTEM_ACTOR, request=r).content_key()
             for r in (PUBLISHED, quarter)]
    assert after == before


def _paragraphs(document: Document) -> list[str]:
    out: list[str] = []

    def walk(blocks: list[object]) -> None:
        for block in blocks:
            if hasattr(block, "blocks"):
                walk(block.blocks)
            elif hasattr(block, "spans"):
                out.append(block.text)

    walk(list(document.sections))
    return out


def test_the_monthly_report_names_the_units_whose_rates_rest_on_too_few_ratings(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    from tongban.core.config import get_settings

    rows = review_table(service.build(db, actor=SYSTEM_ACTOR, request=PUBLISHED))
    counts = {str(r[0]): float(r[1] or 0) for r in rows[1:] if isinstance(r[1], int | float)}
    least = sorted(counts.values())[len(counts) // 2] + 1  # about half the units fall short
    monkeypatch.setenv("TONGBAN_REVIEW_MIN_SAMPLE", str(int(least)))
    get_settings.cache_clear()
    said = [p for p in _paragraphs(service.build(db, actor=SYSTEM_ACTOR, request=PUBLISHED))
            if p.startswith(f"评价不足{int(least)}条的单位")]
    assert len(said) == 1 and "样本不足" in said[0]
    short = [name for name, n in counts.items() if n < least]
    assert short and all(name in said[0] for name in short[:20])
    assert not [name for name, n in counts.items() if n >= least and name in said[0]]
    monkeypatch.setenv("TONGBAN_REVIEW_MIN_SAMPLE", "1")
    get_settings.cache_clear()
    assert not [p for p in _paragraphs(service.build(db, actor=SYSTEM_ACTOR, request=PUBLISHED))
                if "样本不足" in p]
