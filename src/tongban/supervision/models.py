"""Tables of 督办."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tongban.core.db import Base, UTCDateTime, utcnow


class SupervisionNote(Base):
    """One 催办 or 批示 on a case or task: who, when, what they wrote; it stays on the record.

    ``object_type``/``object_id`` name the object as the audit log does
    (``negative_case``/``rectification_task``); ``org_id`` is the unit it was addressed to.
    """

    __tablename__ = "supervision_note"
    __table_args__ = (Index("ix_supervision_note_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[int] = mapped_column(Integer)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(Integer)
    author_name: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
