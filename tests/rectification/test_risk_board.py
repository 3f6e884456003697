"""The risk board: points already deducted for an overdue task, and the order by what is still
at risk (service, page, API, CLI)."""

from __future__ import annotations

import json
import re
from datetime import date

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import api_client, logged_in_client, make_user
from tests.rectification.test_penalties import guides_task, penalties_of
from tongban.cli import app as cli
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.org import service as org_service
from tongban.rectification import jobs, service
from tongban.rectification.enums import TaskAction, TaskSource
from tongban.rectification.models import RectificationTask

OVERDUE_DAY = date(2026, 2, 26)


def charged_task(db: Session) -> RectificationTask:
    """13 guides due 2026-02-25, 3 fixed too late: the job charged 2.6 points."""
    task = guides_task(db)
    service.transition(db, actor=SYSTEM_ACTOR, task=task, action=TaskAction.acknowledge)
    for line in task.lines[:3]:
        service.resolve_line(db, actor=SYSTEM_ACTOR, task=task, line_id=line.id)
    jobs.run(db, as_of=OVERDUE_DAY)
    return task


def penalised(db: Session, org: str, points: float, due: date) -> RectificationTask:
    """One open line worth ``points``, charged to ``org``."""
    target = org_service.resolve_org(db, ref=org)
    return service.create_task(
        db, actor=SYSTEM_ACTOR, source=TaskSource.province_feedback, category="异常办事指南",
        title=f"{org}的一个异常指南", org=target, issued_on=date(2099, 1, 1), due_on=due,
        lines=[service.LineInput("511A0000000001", "事项", "指南要素错误")],
        penalty=service.Penalty("A04", points, None, target))


def test_an_overdue_charged_task_shows_what_its_adjustment_deducted_and_nothing_at_risk(
        db: Session) -> None:
    task = charged_task(db)
    [adjustment] = penalties_of(db, task)
    assert service.points_deducted(task) == -adjustment.points == 2.6
    assert service.points_at_risk(task) == 0
    assert task.open_lines == 10  # what is left open does not change what was deducted
    city = next(r for r in service.risk(db, actor=SYSTEM_ACTOR, as_of=OVERDUE_DAY)
                if r.org.code == "511900")
    assert city.points_deducted == 2.6 and task in city.tasks
    assert service.points_deducted(guides_task(db, due=date(2099, 3, 1))) == 0


def test_rows_and_tasks_are_ordered_by_points_still_at_risk_then_deadline(db: Session) -> None:
    small_soon = penalised(db, "通江县", 0.1, date(2099, 1, 5))
    large_late = penalised(db, "恩阳区", 5.0, date(2099, 6, 1))
    same_earlier = penalised(db, "南江县", 0.1, date(2099, 1, 2))
    rows = service.risk(db, actor=SYSTEM_ACTOR, as_of=date(2099, 1, 1))
    codes = [r.org.code for r in rows]
    assert codes.index(large_late.penalty_org.code) < codes.index(small_soon.penalty_org.code)
    assert codes.index(same_earlier.penalty_org.code) < codes.index(small_soon.penalty_org.code)
    assert [r.points_at_risk for r in rows] == sorted((r.points_at_risk for r in rows),
                                                      reverse=True)
    ordered = sorted([small_soon, large_late, same_earlier], key=service.risk_order)
    assert ordered == [large_late, same_earlier, small_soon]


def test_the_risk_page_shows_the_deduction_and_lists_tasks_by_points_at_risk(db: Session) -> None:
    charged = charged_task(db)
    large = penalised(db, "恩阳区", 5.0, date(2099, 6, 1))
    small = penalised(db, "通江县", 0.1, date(2099, 1, 5))
    client = logged_in_client(db, make_user(db, role=Role.leader))
    page = client.get("/rectification/risk", params={"page_size": 500}).text
    table = page.split("未办结任务")[1]
    ids = [int(i) for i in re.findall(r'<td>(\d+)</td><td><a href="/rectification/tasks/', table)]
    assert ids.index(large.id) < ids.index(small.id) < ids.index(charged.id)
    charged_row = table.split(f'<td>{charged.id}</td>')[1].split("</tr>")[0]
    assert "已扣 2.6 分" in charged_row
    assert 'data-testid="risk-deducted">已扣 ' in page


def test_the_api_and_the_cli_report_both_figures(db: Session) -> None:
    charged_task(db)
    penalised(db, "恩阳区", 5.0, date(2099, 6, 1))
    client = api_client(db, make_user(db, role=Role.analyst))
    items = client.get("/api/v1/rectification/risk", params={"page_size": 500}).json()["items"]
    city = next(r for r in items if r["org_code"] == "511900")
    assert city["points_deducted"] == 2.6
    assert [r["points_at_risk"] for r in items] == sorted(
        (r["points_at_risk"] for r in items), reverse=True)
    result = CliRunner().invoke(cli, ["rectify", "risk", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"items", "total", "page", "page_size"} and out["total"] == len(out["items"])
    assert [(r["org_code"], r["points_at_risk"], r["points_deducted"]) for r in out["items"]] \
        == [(r["org_code"], r["points_at_risk"], r["points_deducted"]) for r in items]
    human = CliRunner().invoke(cli, ["rectify", "risk"])
    assert "已扣 2.6 分" in human.stdout
