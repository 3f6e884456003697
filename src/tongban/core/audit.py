"""Append-only, hash-chained audit log.

Every state change in every domain calls :func:`record`. Each entry carries the hash of the
previous one, so altering or removing a row breaks the chain, and :func:`verify` finds where.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Text, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from tongban.core.db import Base, UTCDateTime, utcnow
from tongban.core.errors import PermissionDenied
from tongban.core.security import Actor, Role

GENESIS_HASH = "0" * 64


class AuditEntry(Base):
    """One state change: who, when, what, to which object, and why."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(64), index=True)
    object_id: Mapped[str] = mapped_column(String(128), index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


def _entry_digest(
    *,
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    changes: dict[str, Any],
    reason: str,
) -> str:
    payload = json.dumps(
        {
            "prev": prev_hash,
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "changes": changes,
            "reason": reason,
        },
        ensure_ascii=False,
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _lock_chain(db: Session) -> None:
    """Serialise writers so two entries never claim the same predecessor."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(7411001)"))


def record(
    db: Session,
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int,
    changes: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEntry:
    """Append one entry to the chain (inside the caller's transaction)."""
    _lock_chain(db)
    last = db.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    prev_hash = last or GENESIS_HASH
    at = utcnow()
    clean_changes = json.loads(json.dumps(changes or {}, ensure_ascii=False, default=str))
    entry = AuditEntry(
        at=at,
        actor=actor.username,
        actor_id=actor.user_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        changes=clean_changes,
        reason=reason,
        prev_hash=prev_hash,
    )
    entry.hash = _entry_digest(
        prev_hash=prev_hash,
        at=at,
        actor=entry.actor,
        action=action,
        object_type=object_type,
        object_id=entry.object_id,
        changes=clean_changes,
        reason=reason,
    )
    db.add(entry)
    db.flush()
    return entry


@dataclass(frozen=True)
class ChainBreak:
    """Where the chain stops holding: the first entry whose hash or link is wrong."""

    entry_id: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def verify(db: Session, *, batch_size: int = 5000) -> ChainReport:
    """Walk the chain in order and report the first altered, inserted or removed entry."""
    prev_hash = GENESIS_HASH
    checked = 0
    last_id = 0
    columns = (
        AuditEntry.id,
        AuditEntry.at,
        AuditEntry.actor,
        AuditEntry.action,
        AuditEntry.object_type,
        AuditEntry.object_id,
        AuditEntry.changes,
        AuditEntry.reason,
        AuditEntry.prev_hash,
        AuditEntry.hash,
    )
    while True:
        rows = db.execute(
            select(*columns)
            .where(AuditEntry.id > last_id)
            .order_by(AuditEntry.id)
            .limit(batch_size)
        ).all()
        if not rows:
            return ChainReport(checked=checked, first_break=None)
        for row in rows:
            if row.prev_hash != prev_hash:
                return ChainReport(
                    checked=checked,
                    first_break=ChainBreak(
                        row.id, "前一条记录的哈希不符：其前的记录被删除、插入或改动"
                    ),
                )
            digest = _entry_digest(
                prev_hash=row.prev_hash,
                at=row.at,
                actor=row.actor,
                action=row.action,
                object_type=row.object_type,
                object_id=row.object_id,
                changes=row.changes,
                reason=row.reason,
            )
            if digest != row.hash:
                return ChainReport(
                    checked=checked,
                    first_break=ChainBreak(row.id, "本条记录内容与其哈希不符：记录被改动"),
                )
            prev_hash = row.hash
            checked += 1
            last_id = row.id


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def search_entries(
    db: Session,
    *,
    actor: Actor,
    who: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    page_size: int = 50,
) -> AuditPage:
    """Entries newest first, filtered; only administrators browse the log."""
    if actor.role is not Role.admin:
        raise PermissionDenied("只有系统管理员可以查看审计日志")
    conditions = []
    if who:
        conditions.append(AuditEntry.actor == who)
    if action:
        conditions.append(AuditEntry.action == action)
    if object_type:
        conditions.append(AuditEntry.object_type == object_type)
    if object_id:
        conditions.append(AuditEntry.object_id == object_id)
    if since:
        conditions.append(AuditEntry.at >= since)
    if until:
        conditions.append(AuditEntry.at < until)
    total = db.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0
    page = max(1, page)
    entries = list(
        db.scalars(
            select(AuditEntry)
            .where(*conditions)
            .order_by(AuditEntry.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    )
    return AuditPage(entries=entries, total=total, page=page, page_size=page_size)


def distinct_values(db: Session, column: str) -> list[str]:
    """The values seen in ``action`` or ``object_type``, for filter menus."""
    col = {"action": AuditEntry.action, "object_type": AuditEntry.object_type}[column]
    return list(db.scalars(select(col).distinct().order_by(col)))


def history(db: Session, *, object_type: str, object_id: str | int) -> list[AuditEntry]:
    """Every entry about one object, oldest first (the caller checks who may read it)."""
    return list(db.scalars(select(AuditEntry).where(
        AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id))
        .order_by(AuditEntry.id)))
