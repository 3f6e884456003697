"""Tables of rectification tasks, their item lines, evidence and attachments."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tongban.core.db import Base, UTCDateTime, utcnow
from tongban.core.uploads import StoredFile
from tongban.org.models import Org


class RectificationTask(Base):
    """A problem assigned to an org to fix by a working-day deadline (整改任务).

    A task may carry a penalty: points per line still unresolved at the end of the due day,
    capped, charged to ``penalty_org`` (the city for province feedback) under an indicator.
    """

    __tablename__ = "rectification_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    responsible_person: Mapped[str] = mapped_column(String(64), default="")
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    state: Mapped[str] = mapped_column(String(16), index=True, default="issued")
    penalty_indicator: Mapped[str | None] = mapped_column(String(32))
    penalty_scheme: Mapped[str | None] = mapped_column(String(64))
    penalty_points_each: Mapped[float | None] = mapped_column(Float)
    penalty_cap: Mapped[float | None] = mapped_column(Float)
    penalty_org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    penalty_adjustment_id: Mapped[int | None] = mapped_column(Integer)
    import_key: Mapped[str | None] = mapped_column(String(200), index=True)
    evidence: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str] = mapped_column(String(500), default="")

    org: Mapped[Org] = relationship(foreign_keys=[org_id], lazy="joined")
    penalty_org: Mapped[Org | None] = relationship(foreign_keys=[penalty_org_id], lazy="joined")
    lines: Mapped[list[TaskLine]] = relationship(
        back_populates="task", cascade="all, delete-orphan", order_by="TaskLine.id",
        lazy="selectin")
    attachments: Mapped[list[TaskAttachment]] = relationship(
        back_populates="task", cascade="all, delete-orphan", order_by="TaskAttachment.id",
        lazy="selectin")

    @property
    def open_lines(self) -> int:
        """How many lines are not resolved (销项) yet."""
        return sum(1 for line in self.lines if line.resolved_at is None)


class TaskLine(Base):
    """One item of a task (one flagged service guide): closes on its own."""

    __tablename__ = "rectification_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("rectification_task.id", ondelete="CASCADE"),
                                         index=True)
    item_code: Mapped[str] = mapped_column(String(100), default="")
    item_name: Mapped[str] = mapped_column(String(300), default="")
    problem: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution: Mapped[str] = mapped_column(Text, default="")

    task: Mapped[RectificationTask] = relationship(back_populates="lines")


class TaskAttachment(StoredFile, Base):
    """Evidence file, stored outside the web root under a generated name."""

    __tablename__ = "rectification_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("rectification_task.id", ondelete="CASCADE"),
                                         index=True)

    task: Mapped[RectificationTask] = relationship(back_populates="attachments")
