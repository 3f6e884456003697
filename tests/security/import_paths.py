"""Every import path of the platform, each with a file of valid rows to build hostile files
from, and a count of what it has stored (to show that a refused file stored nothing)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import make_cohort, scheme_yaml
from tongban.assessment import importers
from tongban.assessment import service as assessment
from tongban.assessment.models import Adjustment, MetricValue
from tongban.benchmark import service as benchmark
from tongban.benchmark.models import ListMaterial, SnapshotItem
from tongban.core import workdays
from tongban.core.listing import ListParams
from tongban.core.security import SYSTEM_ACTOR
from tongban.core.tabular import open_table
from tongban.core.workdays import WorkdayOverride
from tongban.rectification import service as rectification
from tongban.rectification.models import TaskLine
from tongban.reviews import service as reviews
from tongban.reviews.models import HandledCase, HandledCount, Review
from tongban.reviews.service import checks

Row = list[str]


@dataclass(frozen=True)
class ImportPath:
    """One way a file gets in: its header, its ``n``-th valid row (each has Chinese text, and
    its last cell is checked), how a file is imported, and how many of its kind of record
    are stored."""

    name: str
    header: Row
    row: Callable[[int], Row]
    run: Callable[[Session, bytes, str], object]
    stored: Callable[[Session], int]

    def rows(self, count: int) -> list[Row]:
        return [self.row(n) for n in range(1, count + 1)]

    def csv(self, rows: list[Row]) -> bytes:
        return csv_bytes([self.header, *rows])

    def xlsx(self, rows: list[Row]) -> bytes:
        return xlsx_bytes([self.header, *rows])


def csv_bytes(rows: list[Row], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[Row]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_sheet(data: bytes, change: Callable[[bytes], bytes]) -> bytes:
    """The workbook with its first sheet's XML changed."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = change(body)
            target.writestr(item, body)
    return out.getvalue()


def understated(data: bytes, ref: str) -> bytes:
    """The workbook with its first sheet's ``<dimension>`` claiming only ``ref``."""

    def claim(body: bytes) -> bytes:
        body, found = re.subn(rb'<dimension ref="[^"]*"\s*/>',
                              f'<dimension ref="{ref}"/>'.encode(), body)
        assert found == 1
        return body

    return with_sheet(data, claim)


def _count(db: Session, *where: object) -> int:
    return db.scalar(select(func.count()).where(*where)) or 0  # type: ignore[arg-type]


def score_cohort(db: Session) -> str:
    """A cohort of three cities whose scheme takes given points for G1 and G2 (max 5)."""
    found = assessment.list_schemes(db, actor=SYSTEM_ACTOR, params=ListParams(q="t-sec"))
    if not any(s.code == "t-sec" for s in found.items):
        make_cohort(db, code="t-sec", members=["巴中", "达州", "南充"])
        assessment.load_scheme(db, actor=SYSTEM_ACTOR, text=scheme_yaml(
            code="t-sec", cohort="t-sec", grading="{good_top: 1}", indicators="""
      - {code: G1, name: 事项认领, max_points: 5, rule: {type: given}}
      - {code: G2, name: 办事指南, max_points: 5, rule: {type: given}}
"""))
    return "t-sec"


def _score_sheet(db: Session, data: bytes, name: str) -> object:
    return importers.import_file(db, actor=SYSTEM_ACTOR, source=io.BytesIO(data), filename=name,
                                 cohort_code=score_cohort(db))


def _handled(db: Session, data: bytes, name: str) -> object:
    table = open_table(io.BytesIO(data), filename=name, aliases=reviews.HANDLED_ALIASES)
    return reviews.import_handled_cases(db, actor=SYSTEM_ACTOR, rows=table.rows, filename=name)


def _cases_handled(db: Session, data: bytes, name: str) -> object:
    table = open_table(io.BytesIO(data), filename=name, aliases=checks.ALIASES)
    return reviews.record_cases_handled(db, actor=SYSTEM_ACTOR, rows=table.rows, filename=name)


CALENDAR_START = date(2030, 1, 1)

PATHS = [
    ImportPath(
        "score-sheet", ["period", "org", "indicator", "note", "points"],
        lambda n: ["2026-02", "巴中", "扣分", f"第{n}项未整改", "1"],
        _score_sheet,
        lambda db: _count(db, Adjustment.scheme_code == "t-sec", Adjustment.voided_at.is_(None))),
    ImportPath(
        "metrics", ["period", "org", "metric", "value"],
        lambda n: ["2026-02", "巴中", f"sec_{n}", str(n)],
        lambda db, data, name: importers.import_file(db, actor=SYSTEM_ACTOR,
                                                     source=io.BytesIO(data), filename=name),
        lambda db: _count(db, MetricValue.metric.startswith("sec_"))),
    ImportPath(
        "feedback", ["item_code", "item_name", "problem", "department", "due"],
        lambda n: [f"SEC{n:05d}", "事项", "办事指南有误", "巴州区", "2026-12-31"],
        lambda db, data, name: rectification.import_feedback(
            db, actor=SYSTEM_ACTOR, source=io.BytesIO(data), filename=name,
            issued_on=date(2026, 12, 1)),
        lambda db: _count(db, TaskLine.item_code.startswith("SEC"))),
    ImportPath(
        "reviews", list(checks.COLUMNS),
        lambda n: ["sec", f"s{n}", "网站", "巴州区", "", f"SC{n}", "5", "", "", "否", "",
                   "2026-02-03 10:00:00"],
        lambda db, data, name: reviews.import_reviews(db, actor=SYSTEM_ACTOR,
                                                      source=io.BytesIO(data), filename=name),
        lambda db: _count(db, Review.source == "sec")),
    ImportPath(
        "handled-cases", ["org", "case_no", "completed_at"],
        lambda n: ["巴州区", f"SECH{n}", "2026-03-02 10:00"],
        _handled,
        lambda db: _count(db, HandledCase.case_no.startswith("SECH"))),
    ImportPath(
        "cases-handled", ["period", "org", "cases_handled"],
        lambda n: [f"{2010 + n // 12}-{n % 12 + 1:02d}", "巴中", str(n)],
        _cases_handled,
        lambda db: _count(db, HandledCount.source.startswith("import:sec"))),
    ImportPath(
        "calendar", ["date", "kind"],
        lambda n: [(CALENDAR_START + timedelta(days=n)).isoformat(), "休"],
        lambda db, data, name: workdays.import_overrides(db, actor=SYSTEM_ACTOR,
                                                         source=io.BytesIO(data), filename=name),
        lambda db: _count(db, WorkdayOverride.day >= CALENDAR_START)),
    ImportPath(
        "benchmark-catalog", ["实施编码", "事项名称", "实施部门", "承诺办结时限"],
        lambda n: [f"SEC{n}-510800000000-1", f"事项{n}", "市交通运输局", str(n % 20)],
        lambda db, data, name: benchmark.import_catalog(
            db, actor=SYSTEM_ACTOR, city=benchmark.resolve_city(db, ref="广元"),
            source=io.BytesIO(data), filename=name),
        lambda db: _count(db, SnapshotItem.key.startswith("SEC"))),
    ImportPath(
        "benchmark-list", ["事项", "材料名称", "材料形式", "份数", "是否必需"],
        lambda n: [f"SEC{n}-511900000000-1", f"材料{n}", "原件", "1", "是"],
        lambda db, data, name: benchmark.import_implementation_list(
            db, actor=SYSTEM_ACTOR, city=benchmark.resolve_city(db, ref="巴中"),
            source=io.BytesIO(data), filename=name),
        lambda db: _count(db, ListMaterial.item.startswith("SEC"))),
]
