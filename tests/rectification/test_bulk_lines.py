"""批量销项: several lines of one task closed in one step, each audited, all or none."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import csrf_of, logged_in_client, make_user
from tests.rectification.test_tasks import liaison, make_task
from tongban.core.audit import AuditEntry
from tongban.core.errors import Conflict, NotFound, PermissionDenied
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.rectification import service
from tongban.rectification.enums import TaskAction


def started(db: Session, lines: int = 3, org: str = "巴州区"):  # type: ignore[no-untyped-def]
    task = make_task(db, lines=lines, org=org)
    service.transition(db, actor=SYSTEM_ACTOR, task=task, action=TaskAction.acknowledge)
    return task


def entries(db: Session, line_ids: list[int]) -> int:
    return db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "rectification.line_resolved",
        AuditEntry.object_id.in_([str(i) for i in line_ids]))) or 0


def test_bulk_close_resolves_each_line_with_its_own_audit_entry(db: Session) -> None:
    """Catches: lines closed without an entry each, or only some of the selection closed."""
    task = started(db)
    ids = [ln.id for ln in task.lines[:2]]
    service.resolve_lines(db, actor=liaison(db), task=task, line_ids=ids, resolution="已改")
    assert [ln.resolved_at is not None for ln in task.lines] == [True, True, False]
    assert task.open_lines == 1 and entries(db, ids) == 2


def test_a_line_of_another_task_refuses_the_whole_selection(db: Session) -> None:
    """Catches: a partial close when one id is foreign (not all-or-nothing)."""
    task, foreign = started(db), started(db)
    with pytest.raises(NotFound):
        service.resolve_lines(db, actor=liaison(db), task=task,
                              line_ids=[task.lines[0].id, foreign.lines[0].id])
    assert task.open_lines == 3 and entries(db, [task.lines[0].id]) == 0


def test_an_already_closed_line_refuses_the_whole_selection(db: Session) -> None:
    """Catches: the others closed although one of the selection was already closed."""
    task = started(db)
    service.resolve_line(db, actor=SYSTEM_ACTOR, task=task, line_id=task.lines[0].id)
    with pytest.raises(Conflict):
        service.resolve_lines(db, actor=liaison(db), task=task,
                              line_ids=[task.lines[0].id, task.lines[1].id])
    assert task.lines[1].resolved_at is None


def test_another_orgs_liaison_may_not_close_lines(db: Session) -> None:
    """Catches: bulk close without the per-task check."""
    task = started(db)
    with pytest.raises(PermissionDenied):
        service.resolve_lines(db, actor=liaison(db, "恩阳区"), task=task,
                              line_ids=[ln.id for ln in task.lines])
    assert task.open_lines == 3


def test_the_task_page_offers_bulk_close_and_it_closes_the_ticked_lines(db: Session) -> None:
    """Catches: the bulk form missing from the page, or the route not closing the lines."""
    task = started(db)
    user = make_user(db, role=Role.liaison, org="巴州区")
    client = logged_in_client(db, user)
    page = client.get(f"/rectification/tasks/{task.id}")
    assert 'data-testid="line-bulk"' in page.text and 'form="line-bulk"' in page.text
    token = csrf_of(client, f"/rectification/tasks/{task.id}")
    answer = client.post(f"/rectification/tasks/{task.id}/lines", data={
        "csrf_token": token, "ids": [str(task.lines[0].id), str(task.lines[2].id)],
        "resolution": "已修改指南"}, follow_redirects=False)
    assert answer.status_code == 303
    db.refresh(task)
    assert [ln.resolved_at is not None for ln in task.lines] == [True, False, True]
    assert task.lines[0].resolution == "已修改指南"


def test_the_api_closes_lines_and_refuses_a_foreign_liaison(db: Session) -> None:
    """Catches: the API route bypassing the service's checks."""
    from tests.factories import api_client

    task = started(db)
    ids = [ln.id for ln in task.lines]
    other = api_client(db, make_user(db, role=Role.liaison, org="恩阳区"))
    refused = other.post(f"/api/v1/rectification/tasks/{task.id}/lines:resolve",
                         json={"line_ids": ids})
    assert refused.status_code == 404
    own = api_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    answer = own.post(f"/api/v1/rectification/tasks/{task.id}/lines:resolve",
                      json={"line_ids": ids, "resolution": "ok"})
    assert answer.status_code == 200 and answer.json()["open_lines"] == 0
