"""Analysis: the demo story, what-if against a recomputation by hand, gaps, alerts, trend."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import actor_of
from tongban.assessment import analysis, service
from tongban.assessment.models import ScoreLine
from tongban.assessment.ranking import competition_rank
from tongban.cli import app as cli
from tongban.core.errors import NotFound
from tongban.core.security import SYSTEM_ACTOR, Role

runner = CliRunner()
PROVINCE = "sichuan-cities"


def cli_json(*args: str) -> object:
    result = runner.invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def explained_item(db: Session, line: ScoreLine, code: str) -> dict[str, Any]:
    """One indicator of a stored line as the explanation gives it."""
    explained = service.explanation(db, actor=SYSTEM_ACTOR,
                                    cohort_code=line.sheet.cohort.code, period=line.sheet.period,
                                    org_ref=line.org.code)
    return next(i for i in explained["indicators"] if i["code"] == code)


def test_demo_story_january_first_february_fifteenth(db: Session) -> None:
    jan = cli_json("assess", "rank", "--cohort", PROVINCE, "--period", "2026-01")
    feb = cli_json("assess", "rank", "--cohort", PROVINCE, "--period", "2026-02")
    assert isinstance(jan, list) and isinstance(feb, list)
    assert jan[0]["org_name"] == "巴中市" and jan[0]["rank"] == 1
    bazhong = next(r for r in feb if r["org_code"] == "511900")
    assert bazhong["rank"] == 15
    assert round(feb[0]["total"] - bazhong["total"], 2) == 2.19
    assert set(feb[0]) == {"org_code", "org_name", "total", "rank", "grade"}


def test_explain_lists_the_deduction_with_its_reason(db: Session) -> None:
    payload = cli_json("assess", "explain", "--cohort", PROVINCE, "--period", "2026-02",
                       "--org", "巴中")
    assert isinstance(payload, dict)
    [deduction] = payload["adjustments"]
    assert deduction["points"] == -2.6 and "13个异常办事指南" in deduction["reason"]
    assert len(payload["indicators"]) >= 180
    assert all({"code", "points", "inputs", "note"} <= set(i) for i in payload["indicators"])


def test_whatif_without_the_deduction_would_have_kept_first_place(db: Session) -> None:
    explained = service.explanation(db, actor=SYSTEM_ACTOR, cohort_code=PROVINCE,
                                    period="2026-02", org_ref="巴中")
    adjustment_id = explained["adjustments"][0]["id"]
    payload = cli_json("assess", "whatif", "--cohort", PROVINCE, "--period", "2026-02",
                       "--org", "巴中", "--drop-adjustment", str(adjustment_id))
    assert isinstance(payload, dict)
    assert payload["before"] == {"total": 93.71, "rank": 15}
    assert payload["after"] == {"total": 96.31, "rank": 1}
    assert len(payload["passes"]) == 14 and payload["falls_behind"] == []


def test_whatif_matches_a_recomputation_by_hand(db: Session) -> None:
    sheet = service.require_sheet(db, cohort_code=PROVINCE, period="2026-03")
    line = next(ln for ln in sheet.lines if ln.org.code == "511900")
    e01 = explained_item(db, line, "E01")["points"]
    result = analysis.whatif(db, actor=SYSTEM_ACTOR, cohort_code=PROVINCE, period="2026-03",
                             org_ref="巴中", set_points={"E01": 3})
    by_hand = round(line.total - e01 + 3, 4)
    totals = {ln.org_id: ln.total for ln in sheet.lines} | {line.org_id: by_hand}
    assert result.after_total == by_hand
    assert result.after_rank == competition_rank(totals)[line.org_id]
    overtaken = {ln.org.name for ln in sheet.lines
                 if ln.org_id != line.org_id and round(line.total, 2) <= round(ln.total, 2)
                 < round(by_hand, 2)}
    assert set(result.passes) == overtaken


def test_whatif_on_a_metric_recomputes_the_indicators_that_read_it(db: Session) -> None:
    sheet = service.require_sheet(db, cohort_code="bz-dept-b", period="2026-04")
    weak = next(ln for ln in sheet.lines if ln.org.name == "市统计局")
    s02 = explained_item(db, weak, "S02")
    accurate = s02["inputs"]
    result = analysis.whatif(db, actor=SYSTEM_ACTOR, cohort_code="bz-dept-b", period="2026-04",
                             org_ref="市统计局",
                             set_metrics={"accurate_items": accurate["list_items"]})
    gained = 10 - s02["points"]
    assert result.after_total == pytest.approx(weak.total + gained * 100 / 95, abs=1e-3)


def test_whatif_refuses_unknown_adjustments_and_indicators(db: Session) -> None:
    with pytest.raises(NotFound):
        analysis.whatif(db, actor=SYSTEM_ACTOR, cohort_code=PROVINCE, period="2026-02",
                        org_ref="巴中", drop_adjustments=[999999])
    with pytest.raises(NotFound):
        analysis.whatif(db, actor=SYSTEM_ACTOR, cohort_code=PROVINCE, period="2026-02",
                        org_ref="巴中", set_points={"ZZ9": 1})


def test_data_sharing_is_the_lowest_in_march_and_april(db: Session) -> None:
    for period, lost in (("2026-03", 2.0), ("2026-04", 1.8)):
        sheet = service.read_sheet(db, actor=SYSTEM_ACTOR, cohort_code=PROVINCE, period=period)
        line = next(row for row in sheet.rows if row.org_code == "511900")
        gaps = {g.code: g for g in analysis.indicator_gaps(sheet, line)}
        assert gaps["E01"].lost == lost
        assert gaps["E01"].at_bottom and gaps["E01"].place == 21
        assert analysis.points_lost(list(gaps.values()))[0].code == "E01"


def test_alerts_cover_rank_drops_bottoms_and_poor_twice(db: Session) -> None:
    feb = analysis.alerts(db, actor=SYSTEM_ACTOR, cohort_code=PROVINCE, period="2026-02")
    assert any(a.kind == "rank_drop" and a.org_code == "511900" and "下降14位" in a.message
               for a in feb)
    mar = analysis.alerts(db, actor=SYSTEM_ACTOR, cohort_code=PROVINCE, period="2026-03")
    assert any(a.kind == "indicator_bottom" and a.org_code == "511900" and "数据共享级联"
               in a.message for a in mar)
    apr = analysis.alerts(db, actor=SYSTEM_ACTOR, cohort_code="bz-dept-b", period="2026-04")
    assert any(a.kind == "poor_twice" and a.org_name == "市统计局" for a in apr)


def test_points_needed_to_reach_a_rank(db: Session) -> None:
    sheet = service.read_sheet(db, actor=SYSTEM_ACTOR, cohort_code=PROVINCE, period="2026-02")
    line = next(row for row in sheet.rows if row.org_code == "511900")
    assert analysis.points_to_rank(sheet, line, 1) == 2.19
    assert analysis.points_to_rank(sheet, line, 20) == 0


def test_trend_shows_rank_changes(db: Session) -> None:
    rows = cli_json("assess", "trend", "--cohort", PROVINCE, "--org", "巴中")
    assert isinstance(rows, list)
    assert [(r["period"], r["rank"]) for r in rows][:2] == [("2026-01", 1), ("2026-02", 15)]
    assert rows[1]["rank_change"] == -14


def test_liaisons_cannot_analyse_another_org(db: Session) -> None:
    liaison = actor_of(db, role=Role.liaison, org="恩阳区")
    with pytest.raises(NotFound):
        analysis.whatif(db, actor=liaison, cohort_code="bz-counties", period="2026-04",
                        org_ref="巴州区", set_points={"S01": 5})
    own = analysis.trend(db, actor=liaison, cohort_code="bz-counties", org_ref="恩阳区")
    assert [p.period for p in own] == ["2026-01", "2026-02", "2026-03"]  # April: a draft
    analyst = actor_of(db, role=Role.analyst)
    assert len(analysis.trend(db, actor=analyst, cohort_code="bz-counties", org_ref="恩阳区")) == 4
