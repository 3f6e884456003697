"""Freshness across month ends and working days, the department's figures against a hand
count (written as the metric values the feeder declares), and the CLI's catalog import and
delivery answers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.datasharing.conftest import Catalog, csv_bytes
from tongban.assessment.models import MetricValue
from tongban.cli import app
from tongban.core.security import SYSTEM_ACTOR
from tongban.core.workdays import WorkCalendar
from tongban.datasharing import service
from tongban.datasharing.enums import CascadeKind, CascadeOutcome, Frequency
from tongban.datasharing.models import Dataset
from tongban.datasharing.service import cascade

CALENDAR = WorkCalendar()


@pytest.mark.parametrize(("frequency", "delivered", "as_of", "label", "next_due"), [
    # September's delivery is due 5 working days after 30 September: the National Day
    # holiday (1–7 October) does not count, the make-up Saturday 10 October does: 13 October
    (Frequency.month, [date(2026, 8, 5), date(2026, 9, 4), date(2026, 10, 13)],
     date(2026, 10, 14), "按期", date(2026, 11, 6)),
    (Frequency.month, [date(2026, 8, 5), date(2026, 9, 4), date(2026, 10, 14)],
     date(2026, 10, 15), "逾期1期", date(2026, 11, 6)),
    # on its deadline September's delivery is not yet late; August's counts
    (Frequency.month, [date(2026, 8, 5), date(2026, 9, 4)], date(2026, 10, 13), "按期",
     date(2026, 10, 13)),
    # a delivery at the end of its period counts for it; one delivery counts once: on
    # 1 September it is August's, and September's is still missing
    (Frequency.month, [date(2026, 8, 3), date(2026, 9, 30)], date(2026, 10, 20), "按期",
     date(2026, 11, 6)),
    (Frequency.month, [date(2026, 9, 1)], date(2026, 10, 20), "逾期1期", date(2026, 11, 6)),
    (Frequency.month, [date(2026, 7, 3)], date(2026, 10, 20), "逾期3期", date(2026, 11, 6)),
    # the fourth quarter of 2025 across the year end: New Year 1–3 January off, Sunday
    # 4 January a make-up working day, 10 working days: 15 January
    (Frequency.quarter, [date(2025, 10, 9)], date(2026, 1, 15), "按期", date(2026, 1, 15)),
    (Frequency.quarter, [date(2025, 10, 9)], date(2026, 1, 16), "逾期1期", date(2026, 4, 15)),
    # a week ending on the Spring Festival's Sunday is due on its second working day after
    (Frequency.week, [date(2026, 2, 13), date(2026, 2, 25)], date(2026, 2, 26), "按期",
     date(2026, 3, 3)),
    (Frequency.week, [date(2026, 2, 13)], date(2026, 2, 26), "逾期1期", date(2026, 3, 3)),
    # 2026's deadline falls in 2027, whose working days nobody entered yet: not guessed
    (Frequency.year, [], date(2026, 1, 30), "逾期12期", None),
])
def test_freshness_counts_periods_and_working_days(
        frequency: Frequency, delivered: list[date], as_of: date, label: str,
        next_due: date | None) -> None:
    found = service.freshness(frequency, delivered, as_of=as_of, calendar=CALENDAR)
    assert found.label == label
    assert found.next_due == next_due


def test_freshness_says_unknown_where_no_calendar_was_entered() -> None:
    found = service.freshness(Frequency.month, [], as_of=date(2031, 3, 20), calendar=CALENDAR)
    assert found.label.startswith("无法判断") and not found.on_schedule


def _deliver(db: Session, code: str, on: date, *rows: str, header: str) -> None:
    service.deliver(db, actor=SYSTEM_ACTOR, dataset_code=code, on=on,
                    source=csv_bytes(*rows, header=header), filename=f"{code}.csv")


def _push(db: Session, code: str, outcome: CascadeOutcome, at: datetime) -> None:
    dataset = db.scalars(select(Dataset).where(Dataset.code == code)).one()
    cascade.record_attempt(db, dataset_id=dataset.id, delivery_id=None,
                           kind=CascadeKind.push, outcome=outcome, status=200, standard="v2",
                           key=code, message="", at=at, alert=False)


GOOD = "11511301008778255F"
MARKET_HEADER = "统一社会信用代码,名称,成立日期,注册资本,负责人身份证号,联系电话,所在区划"


def test_the_departments_figures_are_the_hand_count(db: Session, catalog: Catalog) -> None:
    as_of = date(2026, 11, 20)
    # 市场主体登记 (daily, key data, to share and open): yesterday's delivery, on schedule,
    # one bad mobile number in 14 cells
    _deliver(db, "T-MKT-1", date(2026, 11, 19),
             f"{GOOD},甲公司,2026-01-05,100,,13912345678,511902",
             "11511301008778423H,乙公司,2026-02-01,,,12345678901,",
             header=MARKET_HEADER)
    # 食品经营许可 (monthly, to share, conditionally open): October's by 6 November
    _deliver(db, "T-MKT-2", date(2026, 11, 3), f"SP-1,{GOOD}", header="许可证号,统一社会信用代码")
    # 特种设备 (monthly, not shared, closed): never delivered
    # 婚姻登记 (monthly, key data): October's came on 10 November, after its deadline
    _deliver(db, "T-CIV-1", date(2026, 11, 10), "DJ-1,2026-10-08", header="登记编号,登记日期")
    _push(db, "T-MKT-1", CascadeOutcome.refused, datetime(2026, 11, 19, 3, tzinfo=UTC))
    _push(db, "T-MKT-2", CascadeOutcome.ok, datetime(2026, 11, 3, 3, tzinfo=UTC))
    _push(db, "T-CIV-1", CascadeOutcome.ok, datetime(2026, 11, 21, 3, tzinfo=UTC))  # after
    db.flush()
    found = {q.department.code: q.counts() for q in service.department_quality(
        db, actor=SYSTEM_ACTOR, as_of=as_of)}
    market, civil = found[catalog.market.code], found[catalog.civil.code]
    assert {k: v for k, v in market.items() if k != "data_quality"} == {
        "should_collect": 3, "collected": 2, "should_share": 2, "shared": 1,
        "should_open": 2, "opened": 2, "cascaded": 1, "key_datasets": 1,
        "key_datasets_fresh": 1}
    assert {k: v for k, v in civil.items() if k != "data_quality"} == {
        "should_collect": 1, "collected": 0, "should_share": 1, "shared": 0,
        "should_open": 0, "opened": 0, "cascaded": 0, "key_datasets": 1,
        "key_datasets_fresh": 0}
    # scores (weights 40/20/10/20/10, no use logged): 登记 40×13/14+20+10+20 = 87.1,
    # 食品 90, 特种设备 0; key data counts twice: (2×87.1 + 90 + 0) / 4
    assert market["data_quality"] == pytest.approx((2 * 87.1 + 90) / 4, abs=0.06)
    assert service.record_metrics(db, period="2026-11", today=as_of) > 0
    written = {(v.org_id, v.metric): v.value for v in db.scalars(select(MetricValue).where(
        MetricValue.period == "2026-11", MetricValue.source == "datasharing"))}
    assert written[(catalog.market.id, "shared")] == 1
    assert written[(catalog.market.id, "should_share")] == 2
    assert written[(catalog.civil.id, "collected")] == 0
    assert written[(catalog.civil.id, "should_collect")] == 1
    assert service.record_metrics(db, period="2026-11", today=as_of) == 0  # idempotent
    # a day later 婚姻登记's push was taken: it counts as shared from then on
    later = {q.department.code: q.counts() for q in service.department_quality(
        db, actor=SYSTEM_ACTOR, as_of=date(2026, 11, 21))}
    assert later[catalog.civil.code]["shared"] == 1


def _cli(*args: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(app, ["data", *args, "--json"])
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}


def test_the_catalog_import_is_all_or_nothing_with_row_errors(
        db: Session, tmp_path: Path) -> None:
    catalog, fields = tmp_path / "目录.csv", tmp_path / "字段.csv"
    catalog.write_text("数据集编码,数据集名称,提供部门,更新频率,共享类型,开放类型,重点数据\n"
                       "X-1,甲数据,市民政局,月,无条件,开放,否\n"
                       "X-2,乙数据,不存在的局,每月,无条件,开放,否\n", encoding="utf-8")
    fields.write_text("数据集编码,字段名,类型,必填,格式,主键\n"
                      "X-1,编号,文本,是,,是\nX-1,证件,文本,否,护照号,否\n"
                      "X-9,编号,文本,是,,是\n", encoding="utf-8")
    code, answer = _cli("catalog", "import", str(catalog), "--fields", str(fields))
    assert code == 1 and answer["added"] == 0
    text = json.dumps(answer, ensure_ascii=False)
    for expected in ("不存在的局", "每月", "护照号", "X-9"):
        assert expected in text
    assert db.scalar(select(Dataset.id).where(Dataset.code == "X-1")) is None
    catalog.write_text("数据集编码,数据集名称,提供部门,更新频率,共享类型,开放类型,重点数据\n"
                       "X-1,甲数据,市民政局,月,无条件,开放,否\n", encoding="utf-8")
    fields.write_text("数据集编码,字段名,类型,必填,格式,主键\nX-1,编号,文本,是,,是\n",
                      encoding="utf-8")
    assert _cli("catalog", "import", str(catalog), "--fields", str(fields)) == (
        0, {"added": 1, "changed": 0, "unchanged": 0})
    assert _cli("catalog", "import", str(catalog), "--fields", str(fields)) == (
        0, {"added": 0, "changed": 0, "unchanged": 1})


def test_deliver_answers_per_field_counts(db: Session, catalog: Catalog, tmp_path: Path) -> None:
    file = tmp_path / "登记.csv"
    file.write_text(MARKET_HEADER + "\n"
                    f"{GOOD},甲公司,2026-01-05,100,,13912345678,511902\n"
                    f"{GOOD},乙公司,2026-02-30,1e3,,,\n"  # key again, impossible date
                    "11511301008778255G,,2026-03-01,,511902200101011230,,999999\n",
                    encoding="utf-8")
    code, answer = _cli("deliver", "T-MKT-1", str(file), "--at", "2026-11-19")
    assert code == 0
    assert {k: answer[k] for k in ("dataset", "rows", "invalid_cells", "missing_required",
                                   "duplicate_keys")} == {
        "dataset": "T-MKT-1", "rows": 3, "invalid_cells": 4, "missing_required": 1,
        "duplicate_keys": 1}
    fields = answer["fields"]
    assert isinstance(fields, dict)
    assert fields["统一社会信用代码"] == {"invalid": 1, "missing": 0}
    assert fields["成立日期"] == {"invalid": 1, "missing": 0}
    assert fields["名称"] == {"invalid": 0, "missing": 1}
    assert fields["负责人身份证号"] == {"invalid": 1, "missing": 0}
    assert fields["所在区划"] == {"invalid": 1, "missing": 0}
    assert answer["score"] == round(100 * (1 - 5 / 21) * (1 - 1 / 3), 2)
    assert "511902200101011230" not in json.dumps(answer)  # masked in the examples
    code, answer = _cli("deliver", "NO-SUCH", str(file))
    assert code == 1


def test_the_trend_reads_the_figures_recorded_for_months_that_are_over(
        db: Session, catalog: Catalog) -> None:
    """A month that is over reads what ``record_metrics`` wrote (no recomputation per page);
    the running month, and a month nobody recorded, are computed."""
    today = date(2026, 12, 8)
    _deliver(db, "T-CIV-1", date(2026, 11, 10), "DJ-1,2026-10-08", header="登记编号,登记日期")
    db.flush()
    service.record_metrics(db, period="2026-11", today=today)
    recorded = db.scalars(select(MetricValue).where(
        MetricValue.period == "2026-11", MetricValue.org_id == catalog.civil.id,
        MetricValue.metric == "should_collect")).one()
    recorded.value = 7  # as if the department's catalog had been larger that month
    db.flush()
    months = service.monthly_counts(db, actor=SYSTEM_ACTOR, months=["2026-10", "2026-11",
                                                                    "2026-12"], today=today)
    assert sorted(c["should_collect"] for c in months["2026-11"]) == [3, 7]  # as recorded
    assert sorted(c["should_collect"] for c in months["2026-12"]) == [1, 3]  # computed
    assert sorted(c["should_collect"] for c in months["2026-10"]) == [1, 3]  # none recorded
