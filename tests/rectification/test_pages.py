"""Rectification pages: boards, risk board, task page actions, uploads, inbox."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.factories import csrf_of, logged_in_client, make_user, picture
from tongban.core.listing import ListParams
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.core.workdays import local_today
from tongban.org import service as org_service
from tongban.rectification import jobs, service
from tongban.rectification.enums import TaskSource, TaskState


@pytest.fixture(autouse=True)
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path))


def test_board_lists_tasks_by_state_with_overdue_marked(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    page = client.get("/rectification")
    assert page.status_code == 200
    assert "数据共享接口级联异常整改" in page.text and "逾期" in page.text
    assert 'id="chart-overdue"' in page.text and 'id="chart-ontime"' in page.text


def _task_links(html: str) -> list[int]:
    cards = html.split('data-testid="task-list"')[1].split('<nav class="pager"')[0]
    return [int(part.split('"')[0]) for part in cards.split('href="/rectification/tasks/')[1:]]


def test_board_task_list_searches_sorts_and_pages(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    for query in ({"page": 2, "page_size": 3}, {"sort": "-issued_on", "page_size": 4},
                  {"q": "级联", "state": "acknowledged"}):
        expected = service.list_tasks(
            db, actor=SYSTEM_ACTOR, state=TaskState(query["state"]) if "state" in query else None,
            params=ListParams(**{k: v for k, v in query.items() if k != "state"}))
        page = client.get("/rectification", params=query).text
        assert _task_links(page) == [t.id for t in expected.items] != [], query
        assert f"共 {expected.total} 件" in page
    assert 'href="/rectification?page_size=3&amp;page=3"' in client.get(
        "/rectification", params={"page": 2, "page_size": 3}).text


def test_risk_board_states_points_and_projected_rank(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.leader))
    page = client.get("/rectification/risk")
    assert "异常办事指南整改，将扣" in page.text and "预计排名第" in page.text


def test_liaison_works_a_task_through_the_page(db: Session) -> None:
    task = service.create_task(
        db, actor=SYSTEM_ACTOR, source=TaskSource.city_inspection, category="其他",
        title="窗口服务规范整改", org=org_service.resolve_org(db, ref="恩阳区"),
        issued_on=local_today(), due_on=local_today() + timedelta(days=7),
        lines=[service.LineInput("", "综合窗口", "未公示办理时限")])
    client = logged_in_client(db, make_user(db, role=Role.liaison, org="恩阳区"))
    token = csrf_of(client, f"/rectification/tasks/{task.id}")
    for action in ("acknowledge", "start"):
        client.post(f"/rectification/tasks/{task.id}/actions/{action}",
                    data={"csrf_token": token})
    client.post(f"/rectification/tasks/{task.id}/lines/{task.lines[0].id}",
                data={"csrf_token": token, "resolution": "已公示"})
    upload = client.post(f"/rectification/tasks/{task.id}/attachments",
                         data={"csrf_token": token},
                         files={"file": ("公示照片.png", picture(), "image/png")},
                         follow_redirects=True)
    assert "已上传「公示照片.png」" in upload.text
    submitted = client.post(f"/rectification/tasks/{task.id}/actions/submit",
                            data={"csrf_token": token, "evidence": "已在窗口公示"},
                            follow_redirects=True)
    assert 'data-testid="task-state">待核验' in submitted.text
    refused = client.post(f"/rectification/tasks/{task.id}/actions/accept",
                          data={"csrf_token": token}, follow_redirects=True)
    assert "只有系统管理员或考核管理员可以核验" in refused.text


def test_import_page_reports_errors(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    token = csrf_of(client, "/rectification/import")
    bad = "item_code,item_name,problem,department,due\nA,B,C,不存在局,2026-12-01\n".encode()
    response = client.post("/rectification/import", data={"csrf_token": token},
                           files={"file": ("反馈.csv", bad, "text/csv")})
    assert response.status_code == 422 and "未找到组织「不存在局」" in response.text


def test_new_task_form_with_working_days(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    token = csrf_of(client, "/rectification/new")
    response = client.post("/rectification/new", data={
        "csrf_token": token, "org": "南江县", "category": "证照应用", "source": "city_inspection",
        "title": "电子证照汇聚不全", "issued_on": "2026-09-28", "due_workdays": "15",
        "lines": "| 营业执照 | 未汇聚\n| 不动产证 | 未汇聚", "penalty_indicator": "S03",
        "points_each": "0.2"}, follow_redirects=True)
    assert response.status_code == 200
    assert "电子证照汇聚不全" in response.text and "10月23日" in response.text


def test_inbox_shows_escalations(db: Session) -> None:
    user = make_user(db, role=Role.analyst)
    jobs.run(db, as_of=local_today() + timedelta(days=30))
    client = logged_in_client(db, user)
    page = client.get("/inbox")
    assert "督办：整改任务" in page.text
    assert 'data-testid="unread"' in client.get("/").text
    client.post("/inbox/read-all", data={"csrf_token": csrf_of(client, "/inbox")})
    assert 'data-testid="unread"' not in client.get("/").text
