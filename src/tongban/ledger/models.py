"""Tables of 专项台账: each version of a ledger type as loaded, the items of a type, one entry
per org and item with its status, fields and evidence, and the figures imported per month."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tongban.core.db import Base, UTCDateTime, utcnow
from tongban.core.uploads import StoredFile
from tongban.org.models import Org


class LedgerType(Base):
    """One version of a ledger type as loaded from its YAML (immutable once loaded); the
    newest loaded version of a code is the one in force."""

    __tablename__ = "ledger_type"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(48), index=True)
    version: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(60))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    loaded_by: Mapped[str] = mapped_column(String(64), default="")


class LedgerItem(Base):
    """An item of a ledger (a power, a zone, an indicator, a commitment): its code, name and
    category; ``org_id`` when the item is one org's alone (a zone's owner department);
    ``lead_id`` the lead department of an indicator; ``target`` its target value."""

    __tablename__ = "ledger_item"
    __table_args__ = (UniqueConstraint("type_code", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type_code: Mapped[str] = mapped_column(String(48), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer, default=0)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)
    target: Mapped[float | None] = mapped_column(Float)
    due_on: Mapped[date | None] = mapped_column(Date)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    org: Mapped[Org | None] = relationship(foreign_keys=[org_id], lazy="joined")
    lead: Mapped[Org | None] = relationship(foreign_keys=[lead_id], lazy="joined")


class LedgerEntry(Base):
    """Where one org stands on one item: its status (``state``), reason, responsible person,
    the type's fields (承接主体, 承办人员 …), notes, dates and evidence files."""

    __tablename__ = "ledger_entry"
    __table_args__ = (UniqueConstraint("item_id", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type_code: Mapped[str] = mapped_column(String(48), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("ledger_item.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    state: Mapped[str] = mapped_column(String(48))
    reason: Mapped[str] = mapped_column(String(100), default="")
    responsible: Mapped[str] = mapped_column(String(100), default="")
    fields: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")
    done_on: Mapped[date | None] = mapped_column(Date)
    rectification_task_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64), default="")

    item: Mapped[LedgerItem] = relationship(lazy="joined")
    org: Mapped[Org] = relationship(lazy="joined")
    attachments: Mapped[list[LedgerAttachment]] = relationship(
        back_populates="entry", order_by="LedgerAttachment.id", cascade="all, delete-orphan")


class LedgerAttachment(StoredFile, Base):
    """An evidence file of an entry, stored outside the web root under a generated name."""

    __tablename__ = "ledger_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id", ondelete="CASCADE"),
                                          index=True)

    entry: Mapped[LedgerEntry] = relationship(back_populates="attachments")


class LedgerFigure(Base):
    """A number of one org on one item in a month, imported: cases handled (办件量, for
    落地率) or an indicator's value (互联网+监管)."""

    __tablename__ = "ledger_figure"
    __table_args__ = (UniqueConstraint("item_id", "org_id", "period", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type_code: Mapped[str] = mapped_column(String(48), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("ledger_item.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[float] = mapped_column(Float)


class LedgerOrgRecord(Base):
    """What a ledger records of an org as a whole: whether its 权责清单 is compiled (and when)."""

    __tablename__ = "ledger_org_record"
    __table_args__ = (UniqueConstraint("type_code", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type_code: Mapped[str] = mapped_column(String(48), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    list_compiled: Mapped[bool] = mapped_column(Boolean, default=False)
    compiled_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64), default="")


class LedgerExam(Base):
    """One person's law-enforcement qualification exam result (imported): an org counts the
    people who passed as its qualified staff."""

    __tablename__ = "ledger_exam"
    __table_args__ = (UniqueConstraint("type_code", "org_id", "person", "exam_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type_code: Mapped[str] = mapped_column(String(48), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    person: Mapped[str] = mapped_column(String(50))
    exam_on: Mapped[date] = mapped_column(Date)
    passed: Mapped[bool] = mapped_column(Boolean)
