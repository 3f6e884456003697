"""Points at risk, penalties charged by the job (never twice), projection, reminders, metrics."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import make_user
from tongban.assessment import service as assessment
from tongban.assessment.models import Adjustment, MetricValue
from tongban.assessment.ranking import competition_rank
from tongban.cli import app as cli
from tongban.core import outbox
from tongban.core.notify import Notification
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.core.workdays import end_of_day
from tongban.org import service as org_service
from tongban.rectification import jobs, service
from tongban.rectification.enums import TaskAction, TaskSource
from tongban.rectification.models import RectificationTask


def guides_task(db: Session, *, lines: int = 13, due: date = date(2026, 2, 25),
                cap: float | None = None) -> RectificationTask:
    city = org_service.resolve_org(db, ref="巴中市")
    return service.create_task(
        db, actor=SYSTEM_ACTOR, source=TaskSource.province_feedback, category="异常办事指南",
        title="13个异常办事指南整改", org=org_service.resolve_org(db, ref="市交通运输局"),
        issued_on=date(2026, 2, 5), due_on=due,
        lines=[service.LineInput(f"511A{i:010d}", f"事项{i}", "指南要素错误")
               for i in range(lines)],
        penalty=service.Penalty("A04", 0.2, cap, city))


def penalties_of(db: Session, task: RectificationTask) -> list[Adjustment]:
    return list(db.scalars(select(Adjustment).where(
        Adjustment.source_ref == f"rectification_task:{task.id}")))


def test_points_at_risk_are_open_lines_times_points_capped(db: Session) -> None:
    task = guides_task(db)
    assert service.points_at_risk(task) == 2.6
    assert service.points_at_risk(guides_task(db, cap=1.5)) == 1.5


def test_missed_deadline_becomes_one_adjustment_never_two(db: Session) -> None:
    task = guides_task(db)
    service.transition(db, actor=SYSTEM_ACTOR, task=task, action=TaskAction.acknowledge)
    for line in task.lines[:3]:
        service.resolve_line(db, actor=SYSTEM_ACTOR, task=task, line_id=line.id)
    assert jobs.run(db, as_of=date(2026, 2, 25)).penalties == []  # due today: not yet
    # lines resolved "now" (after the due day in the past) still count as missed
    first = jobs.run(db, as_of=date(2026, 2, 26))
    [adjustment] = penalties_of(db, task)
    assert first.penalties == [adjustment.id]
    assert adjustment.points == -2.6 and adjustment.period == "2026-02"
    assert adjustment.org.code == "511900" and adjustment.indicator_code == "A04"
    assert "13个异常办事指南未在2026年02月25日前整改" in adjustment.reason
    assert adjustment.source_url == f"/rectification/tasks/{task.id}"
    assert jobs.run(db, as_of=date(2026, 2, 27)).penalties == []
    assert len(penalties_of(db, task)) == 1


def test_lines_resolved_before_the_due_day_are_not_charged(db: Session) -> None:
    task = guides_task(db, due=date(2099, 1, 1))
    service.transition(db, actor=SYSTEM_ACTOR, task=task, action=TaskAction.acknowledge)
    for line in task.lines[:10]:
        service.resolve_line(db, actor=SYSTEM_ACTOR, task=task, line_id=line.id)
    assert service.unresolved_at(task, end_of_day(task.due_on)) == 3
    assert service.penalty_points(task, 3) == 0.6


def test_closing_late_after_publication_never_rewrites_the_sheet(db: Session) -> None:
    task = guides_task(db, due=date(2026, 4, 20))
    jobs.run(db, as_of=date(2026, 4, 21))
    [adjustment] = penalties_of(db, task)
    published = assessment.require_sheet(db, cohort_code="sichuan-cities", period="2026-03")
    before = published.content_hash
    service.transition(db, actor=SYSTEM_ACTOR, task=task, action=TaskAction.acknowledge)
    for line in task.lines:
        service.resolve_line(db, actor=SYSTEM_ACTOR, task=task, line_id=line.id)
    jobs.run(db, as_of=date(2026, 4, 30))
    assert [a.id for a in penalties_of(db, task)] == [adjustment.id]
    assert adjustment.voided_at is None
    assert assessment.sheet_hash(published) == before
    april = assessment.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code="sichuan-cities",
                                     period="2026-04")
    line = next(ln for ln in april.lines if ln.org.code == "511900")
    assert any(a["id"] == adjustment.id and a["points"] == -2.6 for a in line.adjustments)


def test_projection_equals_a_recomputation_by_hand(db: Session) -> None:
    guides_task(db, due=date(2099, 3, 1))
    rows = service.risk(db, actor=SYSTEM_ACTOR, as_of=date(2026, 11, 25))
    row = next(r for r in rows if r.org.code == "511900")
    # the newest published month (2026-03), never the April draft
    view = assessment.latest_view_of(db, actor=SYSTEM_ACTOR, org=row.org, published=True)
    assert view is not None and view.period == "2026-03"
    assert row.basis == "四川省的21个市(州)2026年3月成绩单"
    totals = {r.org_id: r.total for r in view.rows}
    own = totals[row.org.id]
    totals[row.org.id] = round(own - row.points_at_risk, 4)
    assert row.current_total == own
    assert row.projected_total == totals[row.org.id]
    assert row.projected_rank == competition_rank(totals)[row.org.id]
    due = row.next_due
    assert due is not None and row.open_lines >= 13
    assert row.statement.startswith(f"若{due.month}月{due.day}日前未完成{row.open_lines}个异常办事指南整改，"
                                    f"将扣{row.points_at_risk:g}分，预计排名第{row.projected_rank}位")


def test_reminders_and_escalation_are_sent_once(db: Session) -> None:
    task = guides_task(db, lines=1, due=date(2026, 2, 25))
    assignee = make_user(db, role=Role.liaison, org="市交通运输局")
    leader = make_user(db, role=Role.leader, org="巴中市")
    before = jobs.run(db, as_of=date(2026, 2, 23))  # two working days before 2-25
    assert before.reminders >= 1
    assert jobs.run(db, as_of=date(2026, 2, 23)).reminders == 0
    assert jobs.run(db, as_of=date(2026, 2, 25)).reminders >= 1  # due day
    overdue = jobs.run(db, as_of=date(2026, 2, 26))
    assert overdue.escalations >= 2
    assert jobs.run(db, as_of=date(2026, 2, 27)).escalations == 0
    titles = {(n.recipient_id, n.title) for n in db.scalars(select(Notification).where(
        Notification.key.like(f"rectification:{task.id}:%")))}
    assert (assignee.id, f"整改任务 #{task.id} 还有2个工作日到期") in titles
    assert (assignee.id, f"整改任务 #{task.id} 今天到期") in titles
    assert (leader.id, f"督办：整改任务 #{task.id} 已逾期") in titles


def test_console_channel_prints_when_configured(db: Session, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TONGBAN_NOTIFY_CHANNELS", "console")
    from tongban.core.config import get_settings

    get_settings.cache_clear()
    guides_task(db, lines=1, due=date(2026, 2, 25))
    make_user(db, role=Role.liaison, org="市交通运输局")
    jobs.run(db, as_of=date(2026, 2, 26))
    assert "督办：整改任务" not in capsys.readouterr().out  # nothing leaves before the commit
    outbox.deliver()
    assert "督办：整改任务" in capsys.readouterr().out


def test_monthly_metrics_count_due_ontime_and_overdue(db: Session) -> None:
    late = guides_task(db, lines=1, due=date(2026, 3, 10))
    service.transition(db, actor=SYSTEM_ACTOR, task=late, action=TaskAction.cancel, note="重复")
    guides_task(db, lines=1, due=date(2026, 3, 12))
    jobs.run(db, as_of=date(2026, 3, 31))
    org = org_service.resolve_org(db, ref="市交通运输局")
    values = dict(db.execute(select(MetricValue.metric, MetricValue.value).where(
        MetricValue.org_id == org.id, MetricValue.period == "2026-03",
        MetricValue.metric.like("rect_%"))).all())
    assert values == {"rect_tasks_due": 1, "rect_closed_ontime": 0, "rect_overdue": 1}


def test_cli_risk_and_jobs_json(db: Session) -> None:
    guides_task(db, due=date(2099, 3, 1))
    runner = CliRunner()
    result = runner.invoke(cli, ["rectify", "risk", "--org", "巴中市", "--json"])
    assert result.exit_code == 0, result.output
    import json

    rows = json.loads(result.stdout)["items"]
    city = next(r for r in rows if r["org_code"] == "511900")
    assert {"org_code", "points_at_risk", "open_lines", "next_due", "projected_total",
            "projected_rank"} <= set(city)
    jobs_result = runner.invoke(cli, ["jobs", "run", "--as-of", "2026-02-26", "--json"])
    assert jobs_result.exit_code == 0, jobs_result.output
    assert json.loads(jobs_result.stdout)["as_of"] == "2026-02-26"


def test_a_deadline_in_an_unknown_year_is_reported_not_fatal(db: Session) -> None:
    far = guides_task(db, lines=1, due=date(2027, 1, 4))
    near = guides_task(db, lines=1, due=date(2026, 12, 30))
    make_user(db, role=Role.liaison, org="市交通运输局")
    report = jobs.run(db, as_of=date(2026, 12, 29))
    assert report.problems == [f"整改任务 #{far.id}：" + report.problems[0].split("：", 1)[1]]
    assert "2027年的法定节假日安排尚未录入" in report.problems[0]
    assert report.reminders >= 1 and near.id != far.id
