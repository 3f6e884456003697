"""Shapes of 督办 in the JSON API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from tongban.supervision.enums import SupervisionKind
from tongban.supervision.models import SupervisionNote
from tongban.supervision.service import MAX_TEXT, Supervised


class SupervisionRequest(BaseModel):
    """A 催办 or 批示 on one or more cases (or tasks) by id."""

    kind: SupervisionKind
    ids: list[int] = Field(min_length=1, max_length=500)
    text: str = Field(default="", max_length=MAX_TEXT,
                      description="批示必填；催办不填时为「请抓紧办理，按期办结。」")


class SupervisionNoteRead(BaseModel):
    id: int
    kind: SupervisionKind
    object_type: str
    object_id: int
    author: str
    text: str
    created_at: datetime


class SupervisedRead(BaseModel):
    recorded: list[SupervisionNoteRead]
    skipped: list[int] = Field(description="今天已催办过、未重复催办的对象")
    notified: int
    message: str


def note_read(note: SupervisionNote) -> SupervisionNoteRead:
    return SupervisionNoteRead(id=note.id, kind=SupervisionKind(note.kind),
                               object_type=note.object_type, object_id=note.object_id,
                               author=note.author_name, text=note.text,
                               created_at=note.created_at)


def supervised_read(done: Supervised) -> SupervisedRead:
    return SupervisedRead(recorded=[note_read(n) for n in done.notes],
                          skipped=[t.object_id for t in done.skipped], notified=done.notified,
                          message=done.message)
