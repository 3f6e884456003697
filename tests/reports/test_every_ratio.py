"""Every report of every demo cohort and month prints each ratio from its own parts (issue
#23 §1): the percentage is the numerator over the denominator, a numerator is never above its
denominator, no rate stands on a zero denominator with a count above it ("（34/0）"), and a
figure whose counts exist is never blank."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from tongban.assessment import service as assessment
from tongban.core.periods import quarter_of
from tongban.core.security import SYSTEM_ACTOR
from tongban.reports import service as reports
from tongban.reports.document import Block, Document, Paragraph, Section, Table
from tongban.reports.enums import ReportKind
from tongban.reports.service import ReportRequest

RATE = re.compile(r"(—|\d+(?:\.\d+)?%)（([\d,]+(?:\.\d+)?)/([\d,]+(?:\.\d+)?)）")


def _texts(document: Document) -> Iterator[str]:
    def walk(blocks: list[Block | Section]) -> Iterator[str]:
        for block in blocks:
            if isinstance(block, Section):
                yield block.heading
                yield from walk(block.blocks)
            elif isinstance(block, Paragraph):
                yield block.text
            elif isinstance(block, Table):
                yield block.note
                for row in block.rows:
                    yield from (str(c.value) for c in row if isinstance(c.value, str))

    yield from walk(list(document.sections))


def _requests(db: Session) -> list[ReportRequest]:
    found = []
    for cohort, periods in assessment.cohort_periods(db).items():
        found += [ReportRequest(ReportKind.monthly, cohort=cohort, period=p) for p in periods]
        found += [ReportRequest(ReportKind.quarterly, cohort=cohort, period=q)
                  for q in sorted({quarter_of(p) for p in periods})]
    return found


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def test_every_printed_ratio_is_its_numerator_over_its_denominator(db: Session) -> None:
    requests = _requests(db)
    assert len(requests) >= 20  # four cohorts, four months, two quarters at least
    checked = 0
    for request in requests:
        document = reports.build(db, actor=SYSTEM_ACTOR, request=request)
        for text in _texts(document):
            for shown, numerator, denominator in RATE.findall(text):
                a, b = _number(numerator), _number(denominator)
                where = f"{request.kind.value} {request.cohort} {request.period}: {text[:120]}"
                assert b > 0 or a == 0, where  # never "（34/0）"
                assert a <= b, where
                if shown != "—":
                    assert float(shown[:-1]) == pytest.approx(a / b * 100, abs=0.051), where
                checked += 1
        for table in document.tables():
            checked += _table_rates_agree(table, request)
    assert checked > 200


#: A rate column of a report table and the columns of its numerator and denominator.
RATE_COLUMNS = {"好评率": ("好评数", "评价数"), "差评率": ("差评数", "评价数"),
                "主动评价率": ("评价数", "办件量"), "按期整改率": ("按期整改", "应整改差评"),
                "实名回访率": ("按时回访", "实名差评")}


def _table_rates_agree(table: Table, request: ReportRequest) -> int:
    labels = [c.label for c in table.columns]
    checked = 0
    for row in table.rows:
        cells = dict(zip(labels, (c.value for c in row), strict=True))
        for rate, (top, bottom) in RATE_COLUMNS.items():
            if rate not in cells or not isinstance(cells[bottom], int | float):
                continue
            a, b, shown = cells[top], cells[bottom], cells[rate]
            where = f"{request.kind.value} {request.cohort} {request.period} {table.title} {rate}"
            assert isinstance(a, int | float) and a <= b, where
            if b:
                assert shown == pytest.approx(a / b, abs=5e-5), where
            else:
                assert shown == "无数据", where
            checked += 1
    return checked


def test_the_review_table_has_no_blank_where_its_counts_exist(db: Session) -> None:
    for cohort in ("bz-counties", "bz-dept-a"):
        for period in assessment.cohort_periods(db)[cohort]:
            document = reports.build(db, actor=SYSTEM_ACTOR, request=ReportRequest(
                ReportKind.monthly, cohort=cohort, period=period))
            [table] = [t for t in document.tables() if t.sheet == "好差评"]
            labels = [c.label for c in table.columns]
            for row in table.rows:
                cells = dict(zip(labels, (c.value for c in row), strict=True))
                assert cells["按期整改"] is not None and cells["应整改差评"] is not None
                assert float(cells["按期整改"]) <= float(cells["应整改差评"])  # type: ignore[arg-type]
                if cells["评价数"]:
                    assert cells["满意度"] is not None, (cohort, period, cells["单位"])
