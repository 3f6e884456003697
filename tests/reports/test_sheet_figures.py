"""Reports quote a scored period from its score sheet, never from live tables: a late import
changes no published figure, and a report built on a draft says 草稿 on every page."""

from __future__ import annotations

import io
import zipfile

from docx import Document as open_docx
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tests.reviews.test_intake import HEADER, row
from tongban.assessment import service as assessment
from tongban.core.security import SYSTEM_ACTOR
from tongban.core.workdays import local_today
from tongban.reports import service
from tongban.reports.document import DRAFT_MARK, Document
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
