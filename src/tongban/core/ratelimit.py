"""Rate limits shared by every server process: fixed-window counters in the database, or in
Redis when ``TONGBAN_REDIS_URL`` is set.

A hit increments its window's counter atomically and compares the new count with the limit, so
that concurrent requests in other processes can never all pass a check they together exceed:
in the database by one upsert (``INSERT … ON CONFLICT DO UPDATE … RETURNING``), whose row lock
also serialises the hits of one key; in Redis by ``INCRBY`` on a key that expires with its
window. A caller counts inside its own transaction and decides what a refusal rolls back
(login keeps the failed attempt by committing it).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from redis import Redis
from sqlalchemy import Integer, String, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from tongban.core.config import get_settings
from tongban.core.db import Base, UTCDateTime, utcnow
from tongban.core.errors import TooManyRequests


class RateCounter(Base):
    """How many hits one key (a client, an org, a user name) made in one time window."""

    __tablename__ = "rate_counter"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)


@dataclass(frozen=True)
class Limit:
    """At most ``limit`` hits per ``window`` for one key."""

    key: str
    limit: int
    window: timedelta


@dataclass(frozen=True)
class Hit:
    """A counted hit: the window's count so far and when the window ends."""

    hits: int
    resets_at: datetime

    def over(self, limit: int) -> bool:
        return self.hits > limit


def client_key(client: str) -> str:
    """A client address as a key that does not keep the address in clear (keyed hash)."""
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, b"client:" + client.encode(), hashlib.sha256).hexdigest()[:32]


def _window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


@lru_cache
def _redis(url: str) -> Redis:
    return Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _redis_key(key: str, start: datetime) -> str:
    return f"tongban:rate:{key}:{int(start.timestamp())}"


def count_hit(db: Session, *, key: str, window: timedelta, amount: int = 1) -> Hit:
    """Add ``amount`` to ``key``'s current window (in Redis when configured, else in ``db``'s
    transaction); the new count."""
    now = utcnow()
    start = _window_start(now, window)
    url = get_settings().redis_url
    if url:
        pipe = _redis(url).pipeline()
        name = _redis_key(key, start)
        pipe.incrby(name, amount)
        pipe.expire(name, int(window.total_seconds()) + 60)
        hits, _ = pipe.execute()
        return Hit(hits=int(hits), resets_at=start + window)
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(RateCounter).values(key=key[:200], window_start=start, hits=amount)
    upsert = stmt.on_conflict_do_update(
        index_elements=[RateCounter.key, RateCounter.window_start],
        set_={"hits": RateCounter.hits + amount},
    ).returning(RateCounter.hits)
    hits = int(db.execute(upsert).scalar_one())
    return Hit(hits=hits, resets_at=start + window)


def forget(db: Session, *, key: str) -> None:
    """Drop every window of ``key`` (e.g. a user's failed logins after a success)."""
    url = get_settings().redis_url
    if url:
        client = _redis(url)
        for name in client.scan_iter(match=f"tongban:rate:{key}:*", count=100):
            client.delete(name)
        return
    db.execute(delete(RateCounter).where(RateCounter.key == key[:200]))


def purge(db: Session, *, older_than: timedelta = timedelta(days=1)) -> int:
    """Remove windows that ended long ago (``jobs run``)."""
    result = db.execute(delete(RateCounter).where(RateCounter.window_start < utcnow() - older_than))
    return int(getattr(result, "rowcount", 0) or 0)


class RateLimited(TooManyRequests):
    """Over a rate limit; ``retry_after`` seconds until the window ends."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
