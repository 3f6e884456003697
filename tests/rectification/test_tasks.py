"""Rectification tasks: workflow, deadlines, lines, attachments, scoping."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import actor_of, make_user, picture
from tongban.core import notify
from tongban.core.audit import AuditEntry
from tongban.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from tongban.core.listing import ListParams
from tongban.core.security import SYSTEM_ACTOR, Actor, Role
from tongban.core.workdays import local_today
from tongban.org import service as org_service
from tongban.rectification import service
from tongban.rectification.enums import TaskAction, TaskSource, TaskState
from tongban.rectification.models import RectificationTask

PNG = picture()


@pytest.fixture(autouse=True)
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("TONGBAN_UPLOAD_MAX_BYTES", "1024")
    return tmp_path / "uploads"


def make_task(db: Session, *, org: str = "巴州区", lines: int = 2, **kwargs: object) -> RectificationTask:
    params: dict[str, object] = {"due_on": date(2026, 2, 25)} | kwargs
    return service.create_task(
        db, actor=SYSTEM_ACTOR, source=TaskSource.city_inspection, category="异常办事指南",
        title="测试任务", org=org_service.resolve_org(db, ref=org), issued_on=date(2026, 2, 5),
        lines=[service.LineInput(f"C{i}", f"事项{i}", "指南有误") for i in range(lines)],
        **params)  # type: ignore[arg-type]


def liaison(db: Session, org: str = "巴州区") -> Actor:
    return actor_of(db, role=Role.liaison, org=org)


def test_full_workflow_to_close_out(db: Session) -> None:
    task = make_task(db)
    who = liaison(db)
    service.transition(db, actor=who, task=task, action=TaskAction.acknowledge)
    service.transition(db, actor=who, task=task, action=TaskAction.start)
    for line in task.lines:
        service.resolve_line(db, actor=who, task=task, line_id=line.id, resolution="已修改")
    service.transition(db, actor=who, task=task, action=TaskAction.submit, evidence="已全部修改")
    service.transition(db, actor=SYSTEM_ACTOR, task=task, action=TaskAction.accept)
    assert task.state == TaskState.closed and task.closed_at is not None
    actions = db.scalars(select(AuditEntry.action).where(
        AuditEntry.object_type == "rectification_task", AuditEntry.object_id == str(task.id))
        .order_by(AuditEntry.id)).all()
    assert actions == ["rectification.issued", "rectification.acknowledge", "rectification.start",
                       "rectification.submit", "rectification.accept"]


def test_rejection_sends_the_task_back_with_a_reason(db: Session) -> None:
    task = make_task(db, lines=0)
    who = liaison(db)
    for action in (TaskAction.acknowledge, TaskAction.start):
        service.transition(db, actor=who, task=task, action=action)
    service.transition(db, actor=who, task=task, action=TaskAction.submit, evidence="说明")
    with pytest.raises(DomainError, match="原因"):
        service.transition(db, actor=SYSTEM_ACTOR, task=task, action=TaskAction.reject)
    service.transition(db, actor=SYSTEM_ACTOR, task=task, action=TaskAction.reject,
                       note="截图不清楚")
    assert task.state == TaskState.in_progress


@pytest.mark.parametrize(("state", "action"), [
    (TaskState.issued, TaskAction.submit), (TaskState.issued, TaskAction.accept),
    (TaskState.issued, TaskAction.start), (TaskState.acknowledged, TaskAction.reject),
    (TaskState.closed, TaskAction.cancel), (TaskState.cancelled, TaskAction.acknowledge),
    (TaskState.submitted, TaskAction.start),
])
def test_illegal_transitions_are_refused(db: Session, state: TaskState, action: TaskAction) -> None:
    task = make_task(db, lines=0)
    task.state = state.value
    with pytest.raises(Conflict, match=f"当前为「{state.label}」"):
        service.transition(db, actor=SYSTEM_ACTOR, task=task, action=action, note="x",
                           evidence="x")


def test_submit_needs_evidence_and_accept_needs_every_line(db: Session) -> None:
    task = make_task(db, lines=2)
    who = liaison(db)
    for action in (TaskAction.acknowledge, TaskAction.start):
        service.transition(db, actor=who, task=task, action=action)
    with pytest.raises(DomainError, match="整改说明"):
        service.transition(db, actor=who, task=task, action=TaskAction.submit)
    service.transition(db, actor=who, task=task, action=TaskAction.submit, evidence="部分完成")
    with pytest.raises(Conflict, match="还有 2 项未整改完成"):
        service.transition(db, actor=SYSTEM_ACTOR, task=task, action=TaskAction.accept)


def test_open_lines_count_the_lines_not_resolved_and_a_reopened_one_again(db: Session) -> None:
    task = make_task(db, lines=3)
    who = liaison(db)
    for action in (TaskAction.acknowledge, TaskAction.start):
        service.transition(db, actor=who, task=task, action=action)
    first = task.lines[0].id
    service.resolve_line(db, actor=who, task=task, line_id=first, resolution="已修改")
    assert task.open_lines == 2
    service.resolve_line(db, actor=SYSTEM_ACTOR, task=task, line_id=first, reopen=True)
    assert task.open_lines == 3


def test_liaisons_cannot_verify_and_cannot_touch_other_orgs(db: Session) -> None:
    task = make_task(db, lines=0)
    own = liaison(db)
    service.transition(db, actor=own, task=task, action=TaskAction.acknowledge)
    with pytest.raises(PermissionDenied):
        service.transition(db, actor=own, task=task, action=TaskAction.cancel, note="x")
    other = liaison(db, "恩阳区")
    with pytest.raises(NotFound):
        service.get_task(db, actor=other, task_id=task.id)
    assert task.id not in [t.id for t in service.visible_tasks(db, actor=other)]


def test_due_date_in_working_days_across_national_day(db: Session) -> None:
    task = service.create_task(
        db, actor=SYSTEM_ACTOR, source=TaskSource.province_feedback, category="事项认领",
        title="x", org=org_service.resolve_org(db, ref="巴州区"), issued_on=date(2026, 9, 28),
        due_workdays=15)
    assert task.due_on == date(2026, 10, 23)


def test_due_date_is_given_one_way(db: Session) -> None:
    with pytest.raises(DomainError, match="二者选一"):
        make_task(db, due_workdays=5)


def test_categories_come_from_settings(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DomainError, match="不在配置的类别中"):
        service.create_task(db, actor=SYSTEM_ACTOR, source=TaskSource.city_inspection,
                            category="卫生", title="x",
                            org=org_service.resolve_org(db, ref="巴州区"),
                            issued_on=date(2026, 2, 5), due_on=date(2026, 2, 6))
    monkeypatch.setenv("TONGBAN_RECTIFICATION_CATEGORIES", "卫生,其他")
    from tongban.core.config import get_settings

    get_settings.cache_clear()
    task = service.create_task(db, actor=SYSTEM_ACTOR, source=TaskSource.city_inspection,
                               category="卫生", title="x",
                               org=org_service.resolve_org(db, ref="巴州区"),
                               issued_on=date(2026, 2, 5), due_on=date(2026, 2, 6))
    assert task.category == "卫生"


def started(db: Session) -> tuple[RectificationTask, Actor]:
    task = make_task(db, lines=1)
    who = liaison(db)
    service.transition(db, actor=who, task=task, action=TaskAction.acknowledge)
    return task, who


def test_attachment_is_stored_under_a_generated_name(db: Session, uploads: Path) -> None:
    task, who = started(db)
    attachment = service.add_attachment(db, actor=who, task=task, filename="../../etc/截图.png",
                                        content=PNG)
    assert attachment.original_name == "截图.png"
    assert attachment.stored_name.endswith(".png") and "/" not in attachment.stored_name
    assert [p.name for p in uploads.iterdir()] == [attachment.stored_name]
    found, path = service.get_attachment(db, actor=who, attachment_id=attachment.id)
    assert path.read_bytes() == PNG and found.id == attachment.id


@pytest.mark.parametrize(("name", "content", "message"), [
    ("big.png", b"\x89PNG" + b"0" * 2000, "超过"),
    ("tool.exe", b"MZ" + b"0" * 10, "不支持的文件类型"),
    ("fake.pdf", b"\x89PNG" + b"0" * 10, "内容与扩展名 .pdf 不符"),
    ("empty.png", b"", "是空的"),
    ("noextension", b"abc", "不支持的文件类型"),
])
def test_attachment_limits(db: Session, uploads: Path, name: str, content: bytes,
                           message: str) -> None:
    task, who = started(db)
    with pytest.raises(DomainError, match=message):
        service.add_attachment(db, actor=who, task=task, filename=name, content=content)
    assert not uploads.exists() or not any(uploads.iterdir())


def test_attachments_are_served_only_to_those_who_see_the_task(db: Session) -> None:
    task, who = started(db)
    attachment = service.add_attachment(db, actor=who, task=task, filename="a.png", content=PNG)
    with pytest.raises(NotFound):
        service.get_attachment(db, actor=liaison(db, "恩阳区"), attachment_id=attachment.id)


def test_work_finds_its_people_at_once(db: Session) -> None:
    liaison = make_user(db, role=Role.liaison, org="恩阳区")
    analyst = make_user(db, role=Role.analyst)
    task = service.create_task(
        db, actor=SYSTEM_ACTOR, source=TaskSource.city_inspection, category="其他",
        title="窗口服务规范整改", org=org_service.resolve_org(db, ref="恩阳区"),
        issued_on=local_today(), due_on=local_today() + timedelta(days=7),
        lines=[service.LineInput("", "综合窗口", "未公示办理时限")])
    [issued] = notify.inbox(db, user_id=liaison.id, params=ListParams()).items
    assert issued.title == f"新整改任务 #{task.id}：窗口服务规范整改"
    for action in (TaskAction.acknowledge, TaskAction.start):
        service.transition(db, actor=SYSTEM_ACTOR, task=task, action=action)
    service.transition(db, actor=SYSTEM_ACTOR, task=task, action=TaskAction.submit,
                       evidence="已公示")
    assert [m.title for m in notify.inbox(db, user_id=analyst.id, params=ListParams()).items] == [
        f"整改任务 #{task.id} 已提交，待核验"]
    service.transition(db, actor=SYSTEM_ACTOR, task=task, action=TaskAction.reject,
                       note="照片看不清")
    rejected = notify.inbox(db, user_id=liaison.id, params=ListParams()).items[0]
    assert "核验未通过" in rejected.title and rejected.body == "退回原因：照片看不清"
    service.transition(db, actor=SYSTEM_ACTOR, task=task, action=TaskAction.submit)
    service.transition(db, actor=SYSTEM_ACTOR, task=task, action=TaskAction.reject,
                       note="仍未公示")
    assert [m.body for m in notify.inbox(db, user_id=liaison.id, params=ListParams()).items][:2] == [
        "退回原因：仍未公示", "退回原因：照片看不清"]  # a second rejection is its own message


def test_a_task_awaiting_verification_is_not_the_units_overdue(db: Session) -> None:
    """待核验 waits on the city: past its due day it is not counted, listed or sorted as the
    unit's overdue; sent back (退回) it is the unit's again."""
    held = make_task(db, due_on=date(2026, 2, 25))
    waiting = make_task(db, due_on=date(2026, 2, 25))
    who = liaison(db)
    for task in (held, waiting):
        service.transition(db, actor=who, task=task, action=TaskAction.acknowledge)
        service.transition(db, actor=who, task=task, action=TaskAction.start)
    service.transition(db, actor=who, task=waiting, action=TaskAction.submit, evidence="已修改")
    later = date(2026, 3, 2)
    assert service.is_overdue(held, as_of=later) and not service.is_overdue(waiting, as_of=later)
    listed = service.visible_tasks(db, actor=who, as_of=later, overdue_only=True)
    assert held in listed and waiting not in listed
    paged = service.list_tasks(db, actor=who, as_of=later, overdue_only=True,
                               params=ListParams(page_size=500))
    assert held.id in {t.id for t in paged.items} and waiting.id not in {t.id for t in paged.items}
    assert service.counts_by_state([held, waiting], as_of=later)["overdue"] == 1
    service.transition(db, actor=SYSTEM_ACTOR, task=waiting, action=TaskAction.reject,
                       note="材料不全")
    assert service.is_overdue(waiting, as_of=later)
