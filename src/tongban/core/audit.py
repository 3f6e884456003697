"""Append-only, hash-chained audit log, and the actions that write it.

Every state change in every domain calls :func:`record`. Each entry carries the hash of the
previous one, so altering or removing a row breaks the chain, and :func:`verify` finds where.

A service function that changes state is marked :func:`action` with the entries it writes; a
call that writes to the database without writing one of them raises :class:`UnauditedChange`,
so that no change commits without its entry.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ParamSpec, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    BigInteger,
    Engine,
    Integer,
    String,
    Text,
    event,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from tongban.core.config import get_settings
from tongban.core.db import Base, UTCDateTime, utcnow
from tongban.core.errors import DomainError, PermissionDenied
from tongban.core.listing import Listing, ListParams, Page, paginate
from tongban.core.security import Actor, Outsider, Role

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
    actor: Actor | Outsider,
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
    calls = _CALLS.get()
    if calls:
        calls[-1].entries.add(action)
    return entry


# ---------------------------------------------------------------- actions


@dataclass(frozen=True)
class Action:
    """A service function that changes state, and the names of the audit entries it writes."""

    function: str  # module.qualname
    writes: frozenset[str]


class UnauditedChange(RuntimeError):
    """An action wrote to the database without its audit entry, or wrote an entry it does not
    declare: a bug in the action, never a user's error (the transaction must not commit)."""


@dataclass
class _Call:
    """One running action: the first table it wrote to, and the entries it wrote."""

    wrote: str = ""
    entries: set[str] = field(default_factory=set)


_CALLS: ContextVar[tuple[_Call, ...]] = ContextVar("audit_calls", default=())
_ACTIONS: dict[str, Action] = {}  # audit entry name → the action that writes it
_LABELS: dict[str, str] = {}  # audit entry name → its Chinese name
_OBJECT_LABELS: dict[str, str] = {}  # object type → its Chinese name
_WRITE = re.compile(r"\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)

P = ParamSpec("P")
R = TypeVar("R")


def label_of(name: str) -> str:
    """The Chinese name of an audit entry (the code itself for an entry no action declares)."""
    return _LABELS.get(name, name)


def name_objects(labels: Mapping[str, str]) -> None:
    """Declare the Chinese names of the object types a domain's entries name
    (``negative_case`` → 差评工单); the domain that writes the entries calls this once."""
    for code, label in labels.items():
        if _OBJECT_LABELS.get(code, label) != label:
            raise ValueError(f"object type {code!r} is already named {_OBJECT_LABELS[code]!r}")
        _OBJECT_LABELS[code] = label


def name_former_actions(labels: Mapping[str, str]) -> None:
    """Declare the Chinese names of entries no action writes any more, so that the entries
    already in the log still read in Chinese."""
    for name, label in labels.items():
        _LABELS.setdefault(name, label)


def object_label(object_type: str) -> str:
    """The Chinese name of an object type (the code itself for one no domain names)."""
    return _OBJECT_LABELS.get(object_type, object_type)


def actions() -> dict[str, Action]:
    """Every audit entry name an action declares, with its action (the modules that define
    actions must have been imported)."""
    return dict(_ACTIONS)


def action(labels: Mapping[str, str]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Mark a service function (``db`` its first argument) as an action that writes the audit
    entries named by ``labels``' keys; the values are their Chinese names, which every page and
    export shows instead of the code.

    A call that writes any row (its own statements; those of an action it calls are that
    action's) must write at least one of these entries and no other, or it raises
    :class:`UnauditedChange`; a call that changes nothing (an idempotent repeat) needs none.
    The session is flushed before the call, so that earlier pending changes are not counted
    as this call's, and after it, so that its own are.
    """
    if not labels or not all(labels.values()):
        raise ValueError("an action declares the audit entries it writes, each with its name")
    writes = tuple(labels)
    _LABELS.update(labels)

    def mark(function: Callable[P, R]) -> Callable[P, R]:
        declared = Action(f"{function.__module__}.{function.__qualname__}", frozenset(writes))
        for name in writes:
            other = _ACTIONS.get(name)
            if other is not None and other.function != declared.function:
                raise ValueError(f"audit entry {name!r} is already written by {other.function}")
            _ACTIONS[name] = declared

        @functools.wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            db = cast(Session, args[0] if args else kwargs["db"])
            db.flush()
            call = _Call()
            outer = _CALLS.set((*_CALLS.get(), call))
            try:
                result = function(*args, **kwargs)
                db.flush()
            finally:
                _CALLS.reset(outer)
            if call.entries - declared.writes:
                raise UnauditedChange(f"{declared.function} wrote audit entries it does not "
                                      f"declare: {', '.join(sorted(call.entries - declared.writes))}")
            if call.wrote and not call.entries:
                raise UnauditedChange(f"{declared.function} wrote to {call.wrote} without an "
                                      f"audit entry ({', '.join(sorted(declared.writes))})")
            return result

        return run

    return mark


@event.listens_for(Engine, "before_cursor_execute")
def _note_write(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
    """Note the first table the innermost running action writes to (the audit log aside)."""
    calls = _CALLS.get()
    if not calls or calls[-1].wrote:
        return
    written = _WRITE.match(statement)
    if written and written.group(1).lower() != AuditEntry.__tablename__:
        calls[-1].wrote = written.group(1)


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


def verify(db: Session, *, actor: Actor, batch_size: int = 5000) -> ChainReport:
    """Walk the chain in order and report the first altered, inserted or removed entry."""
    if actor.role is not Role.admin:
        raise PermissionDenied("只有系统管理员可以校验审计日志")
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
class Checkpoint:
    """The head of the chain at one moment, signed: an operator keeps it outside the database,
    so that entries deleted from the end of the chain (which leave a valid shorter chain) are
    noticed by :func:`check_checkpoint`."""

    count: int
    last_id: int
    last_hash: str
    at: str
    signature: str = ""

    def payload(self) -> bytes:
        return f"{self.count}|{self.last_id}|{self.last_hash}|{self.at}".encode()

    def signed(self) -> Checkpoint:
        return Checkpoint(self.count, self.last_id, self.last_hash, self.at, _sign(self.payload()))

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "last_id": self.last_id, "last_hash": self.last_hash,
                "at": self.at, "signature": self.signature}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        try:
            return cls(int(data["count"]), int(data["last_id"]), str(data["last_hash"]),
                       str(data["at"]), str(data["signature"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise DomainError("检查点文件格式不正确") from exc


def _sign(payload: bytes) -> str:
    key = hashlib.sha256(b"tongban-audit-checkpoint:" + get_settings().secret_key.encode()).digest()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def checkpoint(db: Session) -> Checkpoint:
    """The signed head of the chain now (``tongban audit checkpoint``)."""
    count = db.scalar(select(func.count()).select_from(AuditEntry)) or 0
    last = db.execute(select(AuditEntry.id, AuditEntry.hash)
                      .order_by(AuditEntry.id.desc()).limit(1)).first()
    return Checkpoint(count, last.id if last else 0, last.hash if last else GENESIS_HASH,
                      utcnow().isoformat()).signed()


def check_checkpoint(db: Session, *, saved: Checkpoint) -> str | None:
    """Why the chain no longer reaches a saved checkpoint (None when it does): its signature is
    wrong, its last entry is gone or changed, or entries up to it were removed."""
    if not hmac.compare_digest(_sign(saved.payload()), saved.signature):
        return "检查点签名不符：文件被改动，或由其他密钥生成"
    if saved.count == 0:
        return None
    head = db.scalar(select(AuditEntry.hash).where(AuditEntry.id == saved.last_id))
    if head is None:
        after = db.scalar(select(func.count()).select_from(AuditEntry)) or 0
        return (f"检查点时的最后一条记录（第 {saved.last_id} 号）已不存在：链尾被删除"
                f"（检查点时共 {saved.count} 条，现存 {after} 条）")
    if head != saved.last_hash:
        return f"第 {saved.last_id} 号记录的哈希与检查点不符：记录被改动"
    upto = db.scalar(select(func.count()).select_from(AuditEntry)
                     .where(AuditEntry.id <= saved.last_id)) or 0
    if upto != saved.count:
        return f"检查点之前的记录数不符：检查点时 {saved.count} 条，现存 {upto} 条"
    return None


#: The audit log as a list: newest first; by time (which is the order of ids) either way.
AUDIT_ENTRIES = Listing(sorts={"at": ("时间", [AuditEntry.id])}, key=AuditEntry.id,
                        search="操作人、对象编号（完全一致）或原因中的文字")


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
    params: ListParams,
) -> Page[AuditEntry]:
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
    zone = ZoneInfo(get_settings().timezone)  # a time without a zone is local time
    if since:
        conditions.append(AuditEntry.at >= (since if since.tzinfo else since.replace(tzinfo=zone)))
    if until:
        conditions.append(AuditEntry.at < (until if until.tzinfo else until.replace(tzinfo=zone)))
    if params.q:
        conditions.append(or_(AuditEntry.actor == params.q, AuditEntry.object_id == params.q,
                              AuditEntry.reason.contains(params.q, autoescape=True)))
    return paginate(db, select(AuditEntry).where(*conditions), params=params,
                    order=AUDIT_ENTRIES.order(params, default=[AuditEntry.id.desc()]))


def distinct_values(db: Session, column: str) -> list[str]:
    """The values seen in ``action`` or ``object_type``, for filter menus."""
    col = {"action": AuditEntry.action, "object_type": AuditEntry.object_type}[column]
    return list(db.scalars(select(col).distinct().order_by(col)))


def history(db: Session, *, object_type: str, object_id: str | int) -> list[AuditEntry]:
    """Every entry about one object, oldest first (the caller checks who may read it)."""
    return list(db.scalars(select(AuditEntry).where(
        AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id))
        .order_by(AuditEntry.id)))
