"""The outbox: messages and partner calls leave after the transaction that caused them commits.

A service never calls an outside server (SMTP, an SMS gateway, 企业微信, 钉钉, a partner's API)
inside its transaction: it writes an :class:`OutboxMessage` with :func:`enqueue`, and the
transaction's commit is what lets it leave (a rolled-back transaction sends nothing). The
process that runs background work delivers what is due (:class:`Courier`, beside the scheduler,
woken by every commit that queued something, else every few seconds): it claims a batch in a
short transaction, calls each message's handler with no transaction open (a slow robot holds
no lock and no request waits on it), and records the outcome in another. A failure is retried
with exponential backoff up to ``TONGBAN_OUTBOX_MAX_ATTEMPTS``, then kept as failed for an
admin to see and send again (``/system/outbox``).

Delivery is at least once: a process killed between a send and its record sends that one
again; handlers whose far side dedups (a partner's order by its merchant number) pass a key.
Payloads may name people (phones, e-mail addresses): they are stored encrypted
(``core.privacy``); ``summary`` says what a message is without them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Integer, String, Text, event, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tongban.core import privacy
from tongban.core.config import get_settings
from tongban.core.db import Base, UTCDateTime, session_scope, utcnow
from tongban.core.errors import NotFound
from tongban.core.listing import PAGED, ListParams, Page, paginate

log = logging.getLogger(__name__)

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
STATE_LABELS = {PENDING: "待发送", SENDING: "发送中", SENT: "已发送", FAILED: "发送失败"}


class OutboxMessage(Base):
    """One message or partner call waiting to leave, written in the transaction that caused
    it; ``payload`` is encrypted (it may name people)."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    summary: Mapped[str] = mapped_column(String(300), default="")
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default=PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


#: kind → what delivers it (registered by the modules that enqueue that kind).
Handler = Callable[[dict[str, Any]], None]
HANDLERS: dict[str, Handler] = {}
#: kind → its Chinese name, for the admin page.
KIND_LABELS: dict[str, str] = {}


def handler(kind: str, label: str) -> Callable[[Handler], Handler]:
    """Register the function that delivers messages of ``kind``."""
    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        KIND_LABELS[kind] = label
        return function
    return register


_wake = threading.Event()


def _wake_after_commit(session: Session) -> None:
    if not session.info.get("outbox_wake"):
        session.info["outbox_wake"] = True
        event.listen(session, "after_commit", _woken, once=True)


def _woken(session: Session) -> None:
    session.info.pop("outbox_wake", None)
    _wake.set()


def enqueue(db: Session, *, kind: str, payload: dict[str, Any], summary: str = "",
            key: str | None = None) -> OutboxMessage | None:
    """Queue a message to leave once this transaction commits; None when ``key`` was queued
    before (the same message twice is one)."""
    if kind not in HANDLERS:
        raise ValueError(f"no outbox handler for {kind}")
    if key is not None and db.scalar(select(OutboxMessage.id).where(
            OutboxMessage.key == key)) is not None:
        return None
    message = OutboxMessage(kind=kind, key=key, summary=summary[:300],
                            payload=privacy.protect(orjson.dumps(payload).decode()),
                            state=PENDING, attempts=0, next_attempt_at=utcnow(),
                            last_error="", created_at=utcnow())
    db.add(message)
    db.flush()
    _wake_after_commit(db)
    return message


@dataclass
class DeliveryReport:
    """What one round of delivery did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "retried": self.retried, "failed": self.failed}


def backoff(attempts: int) -> timedelta:
    """How long after its ``attempts``-th failure a message is tried again (30 s, 1 min, 2 min
    … at most an hour)."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def _claim(limit: int, now: datetime) -> list[tuple[int, str, str]]:
    """Take up to ``limit`` due messages (leased, so another process skips them)."""
    lease = timedelta(seconds=get_settings().outbox_lease_seconds)
    with session_scope() as db:
        due = (select(OutboxMessage).where(
            or_(OutboxMessage.state == PENDING,
                (OutboxMessage.state == SENDING) & (OutboxMessage.lease_until < now)),
            OutboxMessage.next_attempt_at <= now).order_by(OutboxMessage.id).limit(limit))
        if db.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        found = list(db.scalars(due))
        for message in found:
            message.state, message.lease_until = SENDING, now + lease
        return [(m.id, m.kind, m.payload) for m in found]


def _record(message_id: int, error: str | None) -> str:
    with session_scope() as db:
        message = db.get(OutboxMessage, message_id)
        if message is None:
            return FAILED
        message.lease_until = None
        if error is None:
            message.state, message.sent_at, message.last_error = SENT, utcnow(), ""
            return SENT
        message.attempts += 1
        message.last_error = error[:2000]
        if message.attempts >= get_settings().outbox_max_attempts:
            message.state = FAILED
        else:
            message.state = PENDING
            message.next_attempt_at = utcnow() + backoff(message.attempts)
        return message.state


def deliver(*, limit: int = 50, now: datetime | None = None) -> DeliveryReport:
    """Deliver the messages that are due, each with no transaction open while it is sent."""
    report = DeliveryReport()
    for message_id, kind, payload in _claim(limit, now or utcnow()):
        error: str | None = None
        try:
            HANDLERS[kind](orjson.loads(privacy.reveal(payload)))
        except Exception as exc:  # a channel's outage is recorded and retried, never fatal
            error = f"{type(exc).__name__}: {exc}"
            log.warning("outbox %s #%s failed: %s", kind, message_id, error)
        state = _record(message_id, error)
        if state == SENT:
            report.sent += 1
        elif state == FAILED:
            report.failed += 1
            report.errors.append(error or "")
        else:
            report.retried += 1
    return report


class Courier:
    """Delivery on a thread of its own: at once after a commit that queued something, else
    every ``interval`` seconds, until :meth:`stop`."""

    def __init__(self, *, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def loop(self) -> None:
        while not self._stop.is_set():
            _wake.clear()
            try:
                while deliver().sent:
                    pass
            except Exception:  # the database away: the next round tries again
                log.exception("outbox delivery failed")
            _wake.wait(self.interval)
            time.sleep(0.05)  # let a burst of commits queue together

    def start(self) -> None:
        self._thread = threading.Thread(target=self.loop, name="tongban-outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        _wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 15)


def messages(db: Session, *, states: set[str], params: ListParams) -> Page[OutboxMessage]:
    """A page of the outbox in ``states``, the newest first (the admin page)."""
    return paginate(db, select(OutboxMessage).where(OutboxMessage.state.in_(states)),
                    params=params, order=PAGED.order(params, default=[OutboxMessage.id.desc()]))


def counts(db: Session) -> dict[str, int]:
    """How many messages are in each state."""
    return {state: n for state, n in db.execute(
        select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state))}


def send_again(db: Session, *, message_id: int) -> OutboxMessage:
    """Put a failed message back to be sent at once (its attempts start again)."""
    message = db.get(OutboxMessage, message_id)
    if message is None or message.state != FAILED:
        raise NotFound("未找到发送失败的消息")
    message.state, message.attempts, message.next_attempt_at = PENDING, 0, utcnow()
    db.flush()
    _wake_after_commit(db)
    return message
