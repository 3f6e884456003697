"""The task page shows exactly the actions the service allows, and the service does exactly
those: every other action is refused, whoever asks and whatever the task's state."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from tests.factories import actor_of, logged_in_client, make_user, picture
from tongban.core.errors import DomainError
from tongban.core.security import SYSTEM_ACTOR, Actor, Role
from tongban.core.workdays import local_today
from tongban.org import service as org_service
from tongban.rectification import service
from tongban.rectification.enums import TaskAction, TaskSource, TaskState, TaskWork
from tongban.rectification.models import RectificationTask

#: the actions that bring a new task to each state
PATHS = {
    TaskState.issued: [],
    TaskState.acknowledged: [TaskAction.acknowledge],
    TaskState.in_progress: [TaskAction.acknowledge, TaskAction.start],
    TaskState.submitted: [TaskAction.acknowledge, TaskAction.start, TaskAction.submit],
    TaskState.closed: [TaskAction.acknowledge, TaskAction.start, TaskAction.submit,
                       TaskAction.accept],
}
PEOPLE = [(Role.admin, None), (Role.analyst, None), (Role.leader, None), (Role.liaison, "恩阳区")]


def task_in(db: Session, state: TaskState, *, resolved: bool) -> RectificationTask:
    task = service.create_task(
        db, actor=SYSTEM_ACTOR, source=TaskSource.city_inspection, category="其他",
        title="窗口服务规范整改", org=org_service.resolve_org(db, ref="恩阳区"),
        issued_on=local_today(), due_on=local_today() + timedelta(days=7),
        lines=[service.LineInput("", "综合窗口", "未公示办理时限")])
    for action in PATHS[state]:
        if action is TaskAction.submit and (resolved or state is TaskState.closed):
            service.resolve_line(db, actor=SYSTEM_ACTOR, task=task, line_id=task.lines[0].id)
        service.transition(db, actor=SYSTEM_ACTOR, task=task, action=action, evidence="已整改")
    return task


def attempt(db: Session, actor: Actor, task: RectificationTask,
            action: TaskAction | TaskWork) -> bool:
    """Whether the service does ``action`` (undone afterwards)."""
    savepoint = db.begin_nested()
    try:
        if isinstance(action, TaskAction):
            service.transition(db, actor=actor, task=task, action=action, note="原因",
                               evidence="说明")
        elif action is TaskWork.attach:
            service.add_attachment(db, actor=actor, task=task, filename="照片.png",
                                   content=picture())
        else:
            if action is TaskWork.reopen_line:  # a resolved line to reopen, whatever the state
                task.lines[0].resolved_at = task.lines[0].resolved_at or datetime.now(UTC)
            service.resolve_line(db, actor=actor, task=task, line_id=task.lines[0].id,
                                 reopen=action is TaskWork.reopen_line)
        done = True
    except DomainError:
        done = False
    savepoint.rollback()
    db.expire_all()
    return done


@pytest.fixture(autouse=True)
def uploads(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path))


@pytest.mark.parametrize("state", list(PATHS))
def test_allowed_actions_are_exactly_what_the_service_does(db: Session, state: TaskState) -> None:
    for resolved in (False, True):
        task = task_in(db, state, resolved=resolved)
        for role, org in PEOPLE:
            actor = actor_of(db, role=role, org=org)
            allowed = service.allowed_actions(db, actor=actor, task=task)
            for action in [*TaskAction, TaskWork.resolve_line, TaskWork.reopen_line,
                           TaskWork.attach]:
                assert attempt(db, actor, task, action) == (action in allowed), \
                    (state, resolved, role, action)


@pytest.mark.parametrize(("role", "org"), PEOPLE)
def test_the_task_page_shows_exactly_the_allowed_buttons(db: Session, role: Role,
                                                         org: str | None) -> None:
    user = make_user(db, role=role, org=org)
    client = logged_in_client(db, user)
    actor = actor_of(db, role=role, org=org)
    for state in (TaskState.issued, TaskState.in_progress, TaskState.submitted):
        task = task_in(db, state, resolved=True)
        page = client.get(f"/rectification/tasks/{task.id}").text
        shown = {TaskAction(a) for a in re.findall(r'data-testid="action-(\w+)"', page)}
        allowed = service.allowed_actions(db, actor=actor, task=task)
        assert shown == {a for a in allowed if isinstance(a, TaskAction)}, (role, state)
        resolved = task.lines[0].resolved_at is not None  # lines are reopened or resolved
        assert ('name="reopen"' in page) == (TaskWork.reopen_line in allowed and resolved)
        assert ('name="resolution"' in page) == (TaskWork.resolve_line in allowed
                                                 and not resolved)
        assert ('/attachments" enctype' in page) == (TaskWork.attach in allowed)
    board = client.get("/rectification").text
    board_allowed = service.allowed_actions(db, actor=actor)
    assert ('href="/rectification/new"' in board) == (TaskWork.issue in board_allowed)
    assert ('href="/rectification/import"' in board) == (TaskWork.import_feedback in board_allowed)
    if role is Role.leader:
        assert not board_allowed and "data-testid=\"action-" not in page
