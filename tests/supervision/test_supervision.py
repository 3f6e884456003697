"""督办: a 催办 or 批示 on a case or task is recorded, audited, tells the unit at once (one
message per unit for a bulk 催办), stays on the object's page, and only the city may do it."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import actor_of, api_client, csrf_of, logged_in_client, make_user
from tongban.core import audit, notify
from tongban.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from tongban.core.listing import ListParams
from tongban.core.security import SYSTEM_ACTOR, Actor, Role
from tongban.core.workdays import local_today
from tongban.org import service as org_service
from tongban.rectification import service as rectification
from tongban.rectification.enums import TaskAction, TaskSource
from tongban.rectification.models import RectificationTask
from tongban.reports import workbench
from tongban.reviews import service as reviews
from tongban.reviews.enums import CaseAction
from tongban.supervision import service as supervision
from tongban.supervision.enums import SupervisionKind
from tongban.supervision.models import SupervisionNote

URGE, INSTRUCT = SupervisionKind.urge, SupervisionKind.instruction


_raters = itertools.count(1)


def bad_rating(db: Session, org: str, case_no: str) -> int:
    """A 差评 from a citizen of its own (repeats from one source within minutes are held)."""
    result = reviews.submit_review(db, client=f"203.0.113.{next(_raters)}", values={
        "channel": "APP", "org": org, "level": "1", "case_no": case_no,
        "comment": f"办件 {case_no} 材料反复要求补交", "rated_at": datetime.now().astimezone()})
    [case_id] = result.case_ids
    return case_id


def task_of(db: Session, org: str, due_on: date) -> RectificationTask:
    return rectification.create_task(
        db, actor=SYSTEM_ACTOR, source=TaskSource.city_inspection, category="其他",
        title="窗口服务规范整改", org=org_service.resolve_org(db, ref=org),
        issued_on=due_on - timedelta(days=20), due_on=due_on,
        lines=[rectification.LineInput("", "综合窗口", "未公示办理时限")])


def inbox_of(db: Session, user_id: int) -> list[notify.Notification]:
    return notify.inbox(db, user_id=user_id, params=ListParams()).items


def urge_cases(db: Session, actor: Actor, ids: list[int], text: str = "",
               kind: SupervisionKind = URGE) -> supervision.Supervised:
    targets = reviews.supervision_targets(db, actor=actor, case_ids=ids)
    return supervision.supervise(db, actor=actor, kind=kind, targets=targets, text=text)


def test_a_leaders_instruction_is_recorded_audited_and_reaches_the_units_liaison(
        db: Session) -> None:
    liaison = make_user(db, role=Role.liaison, org="巴州区")
    stranger = make_user(db, role=Role.liaison, org="恩阳区")
    leader = actor_of(db, role=Role.leader)
    case_id = bad_rating(db, "巴州区", "S-1")
    done = urge_cases(db, leader, [case_id], "请本周内回访并整改到位", kind=INSTRUCT)
    [note] = done.notes
    assert (note.kind, note.object_type, note.object_id, note.text) == (
        "instruction", "negative_case", case_id, "请本周内回访并整改到位")
    entry = audit.history(db, object_type="negative_case", object_id=case_id)[-1]
    assert entry.action == "supervision.instruction" and entry.reason == "请本周内回访并整改到位"
    message = inbox_of(db, liaison.id)[0]
    assert message.kind == "instruction" and message.link == f"/reviews/cases/{case_id}"
    assert "批示" in message.title and message.body == "请本周内回访并整改到位"
    assert [m.kind for m in inbox_of(db, stranger.id)] == []


def test_a_case_is_urged_once_a_day_whoever_asks(db: Session) -> None:
    liaison = make_user(db, role=Role.liaison, org="巴州区")
    case_id = bad_rating(db, "巴州区", "S-2")
    first = urge_cases(db, actor_of(db, role=Role.leader), [case_id])
    assert first.notes[0].text == supervision.DEFAULT_URGE
    again = urge_cases(db, actor_of(db, role=Role.analyst), [case_id])
    assert again.notes == [] and [t.object_id for t in again.skipped] == [case_id]
    assert "今天已催办过" in again.message
    assert [m.kind for m in inbox_of(db, liaison.id)].count("urge") == 1


def test_a_bulk_urge_tells_each_unit_once_with_a_summary(db: Session) -> None:
    bazhou = make_user(db, role=Role.liaison, org="巴州区")
    enyang = make_user(db, role=Role.liaison, org="恩阳区")
    ids = [bad_rating(db, "巴州区", f"B-{n}") for n in range(3)] + [bad_rating(db, "恩阳区", "E-1")]
    done = urge_cases(db, actor_of(db, role=Role.analyst), ids)
    liaisons = [u for name in ("巴州区", "恩阳区") for u in org_service.people_of(
        db, org=org_service.resolve_org(db, ref=name), roles={Role.liaison})]
    assert len(done.notes) == 4 and done.notified == len(liaisons)  # one message each
    assert done.message == "已催办巴州区、恩阳区 4 件"
    [summary] = [m for m in inbox_of(db, bazhou.id) if m.kind == "urge"]
    assert "巴州区 3 件" in summary.title and summary.link.startswith("/reviews?org=")
    [single] = [m for m in inbox_of(db, enyang.id) if m.kind == "urge"]
    assert single.link == f"/reviews/cases/{ids[3]}"


@pytest.mark.parametrize(("role", "kind"), [(Role.liaison, URGE), (Role.analyst, INSTRUCT),
                                            (Role.admin, INSTRUCT), (Role.runner, URGE)])
def test_only_the_city_urges_and_only_a_leader_instructs(
        db: Session, role: Role, kind: SupervisionKind) -> None:
    case_id = bad_rating(db, "巴州区", "P-1")
    actor = actor_of(db, role=role, org="巴州区" if role in (Role.liaison, Role.runner) else None)
    with pytest.raises((PermissionDenied, NotFound)):
        urge_cases(db, actor, [case_id], "请办理", kind=kind)
    assert db.scalars(select(SupervisionNote)).all() == []


def test_an_instruction_needs_words_and_a_closed_case_needs_no_urging(db: Session) -> None:
    leader = actor_of(db, role=Role.leader)
    case_id = bad_rating(db, "巴州区", "W-1")
    with pytest.raises(DomainError, match="批示须填写内容"):
        urge_cases(db, leader, [case_id], "  ", kind=INSTRUCT)
    with pytest.raises(DomainError, match="不能超过 500 字"):
        urge_cases(db, leader, [case_id], "办" * 501, kind=INSTRUCT)
    case_ = reviews.get_case(db, actor=SYSTEM_ACTOR, case_id=case_id)
    reviews.act(db, actor=SYSTEM_ACTOR, case_=case_, action=CaseAction.callback, note="已回访")
    reviews.act(db, actor=SYSTEM_ACTOR, case_=case_, action=CaseAction.appeal, note="误评")
    reviews.act(db, actor=SYSTEM_ACTOR, case_=case_, action=CaseAction.uphold, note="成立")
    open_id = bad_rating(db, "巴州区", "W-2")
    with pytest.raises(Conflict, match=f"#{case_id} 已办结"):
        urge_cases(db, leader, [open_id, case_id])
    assert db.scalars(select(SupervisionNote)).all() == []  # all or none
    assert reviews.supervision_kinds(actor=leader, case_=case_) == frozenset()


def test_the_case_page_shows_the_record_and_offers_the_forms_the_actor_may_use(
        db: Session) -> None:
    leader_user = make_user(db, role=Role.leader)
    leader_user.display_name = "王局长"
    db.flush()
    liaison = make_user(db, role=Role.liaison, org="巴州区")
    case_id = bad_rating(db, "巴州区", "G-1")
    client = logged_in_client(db, leader_user)
    page = client.get(f"/reviews/cases/{case_id}").text
    assert 'data-testid="supervise-urge"' in page and 'data-testid="supervise-instruction"' in page
    response = client.post(f"/reviews/cases/{case_id}/supervision", data={
        "kind": "instruction", "text": "请<b>立即</b>整改", "csrf_token": csrf_of(client)},
        follow_redirects=False)
    assert response.status_code == 303
    page = client.get(f"/reviews/cases/{case_id}").text
    assert "已批示巴州区 1 件" in page
    assert "请&lt;b&gt;立即&lt;/b&gt;整改" in page and "<b>立即</b>" not in page
    # the history names people and actions in words
    timeline = page.split('class="timeline"')[1].split("</ol>")[0]
    assert "王局长" in timeline and "批示" in timeline and "supervision" not in timeline
    liaison_page = logged_in_client(db, liaison).get(f"/reviews/cases/{case_id}").text
    assert "请&lt;b&gt;立即&lt;/b&gt;整改" in liaison_page
    assert 'data-testid="supervise-urge"' not in liaison_page


def test_the_inbox_urges_the_ticked_cases_in_one_go(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    ids = [bad_rating(db, "巴州区", f"T-{n}") for n in range(2)]
    response = client.post("/reviews/supervision", data={
        "ids": [str(i) for i in ids], "kind": "urge", "back": "/reviews?state=received",
        "csrf_token": csrf_of(client)}, follow_redirects=False)
    assert response.headers["location"] == "/reviews?state=received"
    assert {n.object_id for n in db.scalars(select(SupervisionNote))} == set(ids)
    off_site = client.post("/reviews/supervision", data={
        "ids": [str(ids[0])], "back": "//evil.example/x", "csrf_token": csrf_of(client)},
        follow_redirects=False)
    assert off_site.headers["location"] == "/reviews"


def test_tasks_are_supervised_through_the_api(db: Session) -> None:
    liaison = make_user(db, role=Role.liaison, org="恩阳区")
    task = task_of(db, "恩阳区", local_today() + timedelta(days=5))
    client = api_client(db, make_user(db, role=Role.leader))
    answer = client.post("/api/v1/rectification/tasks/supervision",
                         json={"kind": "instruction", "ids": [task.id], "text": "周五前销号"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["recorded"][0]["text"] == "周五前销号"
    listed = client.get(f"/api/v1/rectification/tasks/{task.id}/supervision").json()
    assert [n["kind"] for n in listed["items"]] == ["instruction"] and listed["total"] == 1
    assert inbox_of(db, liaison.id)[0].link == f"/rectification/tasks/{task.id}"
    rectification.transition(db, actor=SYSTEM_ACTOR, task=task, action=TaskAction.cancel,
                             note="重复下发")
    refused = client.post("/api/v1/rectification/tasks/supervision",
                          json={"kind": "urge", "ids": [task.id]})
    assert refused.status_code == 409 and "已结束" in refused.json()["detail"]
    liaison_client = api_client(db, liaison)
    assert liaison_client.post("/api/v1/rectification/tasks/supervision",
                               json={"kind": "urge", "ids": [task.id]}).status_code == 403


def test_cases_are_supervised_through_the_api_within_the_actors_scope(db: Session) -> None:
    case_id = bad_rating(db, "恩阳区", "A-1")
    client = api_client(db, make_user(db, role=Role.analyst))
    answer = client.post("/api/v1/reviews/cases/supervision", json={"kind": "urge",
                                                                     "ids": [case_id]})
    assert answer.status_code == 201 and answer.json()["message"] == "已催办恩阳区 1 件"
    assert client.get(f"/api/v1/reviews/cases/{case_id}/supervision").json()["total"] == 1
    outsider = api_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    assert outsider.get(f"/api/v1/reviews/cases/{case_id}/supervision").status_code == 404
    assert client.post("/api/v1/reviews/cases/supervision",
                       json={"kind": "urge", "ids": []}).status_code == 422


def test_the_leader_urges_a_units_overdue_work_in_one_click(db: Session) -> None:
    liaison = make_user(db, role=Role.liaison, org="平昌县")
    later = local_today() + timedelta(days=60)
    case_ids = [bad_rating(db, "平昌县", f"U-{n}") for n in range(2)]
    overdue_task = task_of(db, "平昌县", local_today() - timedelta(days=3))
    not_yet = task_of(db, "平昌县", later + timedelta(days=30))
    leader = actor_of(db, role=Role.leader)
    done = workbench.urge_unit(db, actor=leader, org_ref="平昌县", as_of=later)
    urged = {(n.object_type, n.object_id) for n in done.notes}
    assert {("negative_case", c) for c in case_ids} <= urged
    assert ("rectification_task", overdue_task.id) in urged
    assert ("rectification_task", not_yet.id) not in urged
    for kind, object_id in urged:
        if kind == "negative_case":
            case_ = reviews.get_case(db, actor=leader, case_id=object_id)
            assert case_.org.name == "平昌县" and reviews.is_overdue(case_, as_of=later)
    assert [m.kind for m in inbox_of(db, liaison.id)].count("urge") == 1
    with pytest.raises(PermissionDenied):
        workbench.urge_unit(db, actor=actor_of(db, role=Role.liaison, org="平昌县"),
                            org_ref="平昌县", as_of=later)


def test_the_leaders_home_page_urges_a_unit_from_its_backlog_row(db: Session) -> None:
    task_of(db, "通江县", local_today() - timedelta(days=2))
    leader = make_user(db, role=Role.leader)
    client = logged_in_client(db, leader)
    overview = workbench.leader_overview(db, actor=org_service.actor_for(leader),
                                         as_of=local_today())
    worst = overview["backlog"][0]
    home = client.get("/").text
    assert f'data-testid="urge-{worst.org_code}"' in home
    # each figure opens the list it counts
    listed = client.get("/reviews", params={"org": worst.org_code, "overdue": "true"}).text
    assert f'/reviews?org={worst.org_code}&amp;overdue=true"' in home
    assert f"（{worst.overdue_cases}件）" in listed
    assert f"催办{worst.org_name}的 {worst.total} 件逾期工单和任务" in home
    home = client.post("/home/urge", data={"org": worst.org_code, "text": "请本周内办结",
                                           "csrf_token": csrf_of(client, "/")}).text
    assert f"已催办{worst.org_name} {worst.total} 件" in home
    # the row is marked and offers no second urge today
    assert f'data-testid="urged-{worst.org_code}"' in home
    assert f'data-testid="urge-{worst.org_code}"' not in home
    assert {n.text for n in db.scalars(select(SupervisionNote))} == {"请本周内办结"}
    orgs = {n.org_id for n in db.scalars(select(SupervisionNote))}
    assert orgs == {org_service.resolve_org(db, ref=worst.org_code).id}


def test_the_lists_offer_bulk_urging_to_the_city_only(db: Session) -> None:
    analyst = logged_in_client(db, make_user(db, role=Role.analyst))
    liaison = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    for path, form in (("/reviews", "case-bulk"), ("/rectification", "task-bulk")):
        page = analyst.get(path, params={"state": ""}).text
        assert f'data-testid="{form}"' in page and 'value="urge"' in page, path
        assert 'class="bulk-check"' in page
        assert f'data-testid="{form}"' not in liaison.get(path).text
