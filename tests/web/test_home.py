"""工作台: each role's home page shows its own work, with periods, and links to the lists."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy.orm import Session

from tests.factories import actor_of, csrf_of, logged_in_client, make_user
from tongban.assessment import service as assessment
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.core.workdays import local_today
from tongban.org import service as org_service
from tongban.rectification import service as rectification
from tongban.rectification.enums import TaskSource, TaskState
from tongban.reports import workbench


def test_the_leader_sees_the_citys_rank_what_it_lost_and_what_is_at_risk(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.leader))
    page = client.get("/").text
    city = org_service.resolve_org(db, ref="511900")
    view = assessment.latest_view_of(db, actor=actor_of(db, role=Role.leader), org=city,
                                     published=True)
    assert view is not None
    row = view.row_of(city.id)
    assert row is not None
    rank = re.search(r'data-testid="city-rank".*?>第(\d+)名<', page, re.S)
    assert rank is not None and int(rank.group(1)) == row.rank and not view.draft
    headline, trend = page.split('data-testid="city-rank"')[1].split("</section>")[0].split("<table")
    assert "草稿" not in headline  # the rank shown is a published month's
    assert trend.count('data-testid="trend-draft"') == 1  # the demo's April, marked
    assert 'data-testid="points-lost"' in page and 'data-testid="risk"' in page
    assert "风险" in page and 'data-testid="backlog"' in page
    assert "组织机构分布" not in page  # no more chart of how many townships exist
    assert "data-testid=\"todos\"" not in page


def test_the_analyst_sees_where_each_cohorts_months_stand(db: Session) -> None:
    actor = actor_of(db, role=Role.analyst)
    status = assessment.data_status(db, actor=actor, periods=["2026-03", "2026-04", "2030-01"])
    march, april, future = status["巴中市县区类"]
    assert (march.label, april.label, future.label) == ("已发布", "已计算（草稿）", "缺数据")
    assert march.orgs_with_data == march.members == 7 and future.orgs_with_data == 0
    assessment.correct_sheet(db, actor=SYSTEM_ACTOR, cohort_code="bz-counties",
                             period="2026-03", reason="省通报更正")
    again = assessment.data_status(db, actor=actor, periods=["2026-03"])
    assert again["巴中市县区类"][0].label == "更正草稿第2版"
    page = logged_in_client(db, make_user(db, role=Role.analyst)).get("/").text
    assert 'data-testid="data-status"' in page and "巴中市县区类" in page


def test_the_analysts_status_window_moves_and_finds_the_newest_scored_month(
        db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    page = client.get("/").text
    newest = max(p for ps in assessment.cohort_periods(db).values() for p in ps)
    assert f'href="/?until={newest}" data-testid="status-newest"' in page
    table = client.get("/", params={"until": newest}).text.split('data-testid="data-status"')[1]
    assert f"{int(newest[5:])}月" in table.split("</thead>")[0]
    assert "已发布" in table or "已计算" in table
    garbled = client.get("/", params={"until": "2026-13"})
    assert garbled.status_code == 200 and 'data-testid="data-status"' in garbled.text


def test_the_liaison_sees_its_todos_by_deadline_and_acts_in_one_tap(db: Session) -> None:
    org = org_service.resolve_org(db, ref="恩阳区")
    today = local_today()
    late = rectification.create_task(
        db, actor=SYSTEM_ACTOR, source=TaskSource.city_inspection, category="其他",
        title="逾期的整改", org=org, issued_on=today - timedelta(days=20),
        due_on=today - timedelta(days=2), lines=[rectification.LineInput("", "窗口", "问题")])
    soon = rectification.create_task(
        db, actor=SYSTEM_ACTOR, source=TaskSource.city_inspection, category="其他",
        title="今天到期的整改", org=org, issued_on=today - timedelta(days=5), due_on=today,
        lines=[rectification.LineInput("", "窗口", "问题")])
    liaison = make_user(db, role=Role.liaison, org="恩阳区")
    todos = workbench.todos(db, actor=actor_of(db, role=Role.liaison, org="恩阳区"), as_of=today)
    assert f"#{late.id} 逾期的整改" in [t.title for t in todos.overdue]
    assert f"#{soon.id} 今天到期的整改" in [t.title for t in todos.today]
    assert all(t.org_name == "恩阳区" for t in
               todos.overdue + todos.today + todos.this_week + todos.later)
    client = logged_in_client(db, liaison)
    page = client.get("/").text
    assert 'data-testid="todos-overdue"' in page and "逾期的整改" in page
    client.post(f"/rectification/tasks/{soon.id}/actions/acknowledge",
                data={"csrf_token": csrf_of(client)})
    db.expire_all()
    assert rectification.get_task(db, actor=SYSTEM_ACTOR, task_id=soon.id).state \
        == TaskState.acknowledged.value
    assert f'action="/rectification/tasks/{soon.id}/actions/start"' in client.get("/").text


def test_a_runner_starts_on_its_work_page(db: Session) -> None:
    from tests.factories import make_runner

    runner = make_runner(db)
    client = logged_in_client(db, runner.user)
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/errands/runner"
    page = client.get("/").text
    assert "上岗" in page or "下岗" in page
    # a runner account not (yet) registered as a 跑手 keeps the plain home page
    plain = logged_in_client(db, make_user(db, role=Role.runner, org="511902"))
    assert plain.get("/", follow_redirects=False).status_code == 200
