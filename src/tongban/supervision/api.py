"""督办 in the JSON API: one router per supervised kind of object, made by
:func:`supervision_router` (差评工单, 整改任务, and later the ledgers' entries), so every domain
answers 催办/批示 the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import APIRouter, Depends, Response, status
from sqlalchemy.orm import Session

from tongban.core.db import REQUEST_DB, RowId
from tongban.core.listing import PAGED, ListParams, PageOut, page_out
from tongban.core.security import Actor
from tongban.org.access import require_actor
from tongban.supervision import service
from tongban.supervision.schemas import (
    SupervisedRead,
    SupervisionNoteRead,
    SupervisionRequest,
    note_read,
    supervised_read,
)

#: The domain's targets of a 督办 by ids (visible and open, or refused), and one object by id
#: (visible, or 404).
Targets = Callable[[Session, Actor, Iterable[int]], list[service.Target]]
Fetch = Callable[[Session, Actor, int], Any]


def supervision_router(*, prefix: str, noun: str, object_type: str, targets: Targets,
                       fetch: Fetch) -> APIRouter:
    """``POST <prefix>/supervision`` (催办 in bulk or 批示) and ``GET <prefix>/{id}/supervision``
    (the notes on one object) for one kind of object."""
    router = APIRouter(prefix=prefix)

    @router.post("/supervision", response_model=SupervisedRead,
                 status_code=status.HTTP_201_CREATED,
                 summary=f"督办{noun}：催办（可批量，同一{noun}每天一次）或领导批示；通知责任单位",
                 operation_id=f"supervise_{object_type}")
    def supervise(body: SupervisionRequest, db: Session = REQUEST_DB,
                  actor: Actor = Depends(require_actor)) -> SupervisedRead:
        return supervised_read(service.supervise(db, actor=actor, kind=body.kind,
                                                 targets=targets(db, actor, body.ids),
                                                 text=body.text))

    @router.get("/{object_id}/supervision", response_model=PageOut[SupervisionNoteRead],
                summary=f"{noun}的催办和批示（新的在前）",
                operation_id=f"supervision_notes_{object_type}")
    def notes(object_id: RowId, response: Response,
              params: ListParams = Depends(PAGED.params), db: Session = REQUEST_DB,
              actor: Actor = Depends(require_actor)) -> PageOut[SupervisionNoteRead]:
        found = fetch(db, actor, object_id)
        return page_out(response, service.notes_of(
            db, object_type=object_type, object_id=found.id, params=params).map(note_read))

    return router
