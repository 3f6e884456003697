"""文号: numbered per kind and year as reports are archived, stable, unique, on every format."""

from __future__ import annotations

import io

import pytest
from docx import Document as open_docx
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tongban.core.security import SYSTEM_ACTOR
from tongban.core.workdays import local_today
from tongban.reports import service
from tongban.reports.enums import ReportKind
from tongban.reports.models import Report
from tongban.reports.service import ReportRequest

MARCH = ReportRequest(ReportKind.monthly, cohort="bz-counties", period="2026-03")
FEBRUARY = ReportRequest(ReportKind.monthly, cohort="bz-counties", period="2026-02")
QUARTER = ReportRequest(ReportKind.quarterly, cohort="bz-counties", period="2026Q1")


def test_each_kind_is_numbered_on_its_own_from_one_each_year(db: Session) -> None:
    year = local_today().year
    march, _ = service.generate(db, actor=SYSTEM_ACTOR, request=MARCH)
    february, _ = service.generate(db, actor=SYSTEM_ACTOR, request=FEBRUARY)
    quarter, _ = service.generate(db, actor=SYSTEM_ACTOR, request=QUARTER)
    assert [(r.number_year, r.number) for r in (march, february, quarter)] == [
        (year, 1), (year, 2), (year, 1)]
    assert march.doc_number == f"巴政数〔{year}〕1号"
    assert quarter.doc_number == f"巴政数调〔{year}〕1号"


def test_regenerating_the_same_content_keeps_its_number(db: Session) -> None:
    first, _ = service.generate(db, actor=SYSTEM_ACTOR, request=MARCH)
    db.commit()  # its files take their archive names
    again, created = service.generate(db, actor=SYSTEM_ACTOR, request=MARCH)
    assert not created and again.id == first.id and again.doc_number == first.doc_number
    other, _ = service.generate(db, actor=SYSTEM_ACTOR, request=FEBRUARY)
    assert other.number == first.number + 1


def test_a_number_taken_meanwhile_by_another_process_is_not_given_twice(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    year = local_today().year
    db.add(Report(kind="monthly", period_key="2026-01", title="另一进程归档的通报",
                  content_key="x" * 64, generated_by="other", number_year=year, number=1,
                  doc_number=f"巴政数〔{year}〕1号"))
    db.flush()
    reads = iter([0])  # the first read missed the other process's number 1
    real = service._last_number
    monkeypatch.setattr(service, "_last_number",
                        lambda db, *, kind, year: next(reads, None) or real(db, kind=kind, year=year))
    report, created = service.generate(db, actor=SYSTEM_ACTOR, request=MARCH)
    assert created and report.number == 2 and report.doc_number == f"巴政数〔{year}〕2号"


def test_the_number_and_prefix_are_printed_in_every_format(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_REPORT_NUMBER_PREFIX_MONTHLY", "巴政数考")
    service.get_settings.cache_clear()
    report, _ = service.generate(db, actor=SYSTEM_ACTOR, request=MARCH)
    db.commit()
    number = f"巴政数考〔{local_today().year}〕1号"
    assert report.doc_number == number
    files = {f.format: service.path_of(f).read_bytes() for f in report.files}
    assert number in [p.text for p in open_docx(io.BytesIO(files["docx"])).paragraphs]
    assert number in files["html"].decode()
    cover = load_workbook(io.BytesIO(files["xlsx"]))["说明"]
    assert f"文号：{number}" in [row[0] for row in cover.iter_rows(values_only=True)]


def test_without_a_masthead_the_document_opens_with_its_number(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_REPORT_MASTHEAD", "false")
    service.get_settings.cache_clear()
    report, _ = service.generate(db, actor=SYSTEM_ACTOR, request=MARCH)
    db.commit()
    docx = next(service.path_of(f) for f in report.files if f.format == "docx")
    texts = [p.text for p in open_docx(io.BytesIO(docx.read_bytes())).paragraphs]
    assert "巴中市政务服务和大数据管理局" not in texts[:3] and texts[0] == report.doc_number
