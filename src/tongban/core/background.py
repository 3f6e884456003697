"""Exactly one process runs background work.

On SQLite the platform is one server process: a lock file beside the database refuses a
second. On PostgreSQL several instances may serve; an advisory lock, held on a connection of
its own for the life of the process, picks the one that runs the scheduled jobs.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from tongban.core.db import make_engine

#: the advisory lock's key: "tongban" in ASCII, as one bigint
ADVISORY_KEY = 0x746F6E6762616E


@dataclass
class BackgroundLock:
    """The right to run background work, held until :meth:`release`."""

    held: bool = False
    description: str = ""
    _file: IO[str] | None = field(default=None, repr=False)
    _connection: Connection | None = field(default=None, repr=False)

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._connection is not None:
            self._connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                     {"key": ADVISORY_KEY})
            self._connection.commit()
            self._connection.close()
            self._connection.engine.dispose()
            self._connection = None
        self.held = False


def lock_file_of(database_url: str) -> Path | None:
    """``<database>.lock`` beside a SQLite file (None in memory or on another database)."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or not url.database \
            or url.database == ":memory:":
        return None
    return Path(url.database).with_name(Path(url.database).name + ".lock")


def acquire(database_url: str) -> BackgroundLock:
    """Take the background lock if no other process holds it (never waits)."""
    lock_path = lock_file_of(database_url)
    if lock_path is not None:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            return BackgroundLock(False, f"{lock_path}（进程 {holder or '未知'}）")
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        return BackgroundLock(True, str(lock_path), _file=handle)
    if make_url(database_url).drivername.startswith("postgresql"):
        # a connection of its own, outside the pool the requests use, held while the lock is
        connection = make_engine(database_url).connect()
        got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                 {"key": ADVISORY_KEY}).scalar()
        connection.commit()
        if not got:
            connection.close()
            connection.engine.dispose()
            return BackgroundLock(False, "PostgreSQL 咨询锁已被另一实例持有")
        return BackgroundLock(True, "PostgreSQL 咨询锁", _connection=connection)
    return BackgroundLock(True, "内存数据库")
