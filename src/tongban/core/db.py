"""Database: engine, sessions, declarative base, UTC timestamps, SQLite pragmas."""

from __future__ import annotations

import pathlib
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

import orjson
from fastapi import Depends, Path
from sqlalchemy import (
    ARRAY,
    DateTime,
    Engine,
    MetaData,
    String,
    any_,
    bindparam,
    create_engine,
    event,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from tongban.core.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: timestamps must carry a zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: Whether the transactions begun in this context may write (SQLite then begins IMMEDIATE).
#: True by default (CLI, jobs, tests); the web app sets False for reading requests.
may_write: ContextVar[bool] = ContextVar("may_write", default=True)


def utcnow() -> datetime:
    """Now, in UTC, timezone-aware."""
    return datetime.now(UTC)


def one_of(db: Session, column: Any, values: list[str]) -> Any:
    """``column IN values``; on PostgreSQL as ``= ANY(array)``, one parameter instead of
    thousands (which psycopg would otherwise split and quote one by one)."""
    if db.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(String)))
    return column.in_(values)


def make_engine(url: str, *, pool_size: int | None = None) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout; a server's
    pool holds ``pool_size`` connections (default the setting) plus the overflow."""
    settings = get_settings()
    kwargs: dict[str, Any] = {
        "future": True,
        # JSON columns hold score explanations: orjson is several times faster than json.
        "json_deserializer": orjson.loads,
    }
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False}
        kwargs["json_serializer"] = lambda value: orjson.dumps(value).decode()
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["pool_size"] = pool_size or settings.database_pool_size
        kwargs["max_overflow"] = settings.database_max_overflow
        kwargs["json_serializer"] = orjson.dumps  # psycopg sends the bytes as they are
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        busy_ms = settings.sqlite_busy_timeout_ms

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own BEGIN handling breaks SAVEPOINTs; SQLAlchemy emits BEGIN instead.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            # A transaction that may write takes the write lock at its start (IMMEDIATE) and so
            # queues on the busy timeout; a deferred one that reads first and writes later fails
            # at once with "database is locked" when another connection wrote in between.
            # Reading requests stay deferred: under WAL they never wait for a writer.
            connection.exec_driver_sql("BEGIN IMMEDIATE" if may_write.get() else "BEGIN")

    return engine


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for the configured database."""
    url = get_settings().database_url
    if url.startswith("sqlite:///"):
        pathlib.Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return make_engine(url)


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error (CLI and jobs)."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def read_scope() -> Iterator[Session]:
    """A session that only reads: rolled back at the end, so a failing commit cannot fail it."""
    session = get_sessionmaker()()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


@contextmanager
def read_only_scope(beside: Session | None = None) -> Iterator[Session]:
    """A session that only reads and never takes SQLite's write lock, even inside a request
    that may write: for what a request looks up before it begins its own work (who is
    acting, what a file's header may hold). ``beside``: read the database that session is
    bound to (a test's, or a command's), not the configured one; once that session has begun
    its transaction (it may hold what it has not committed), through it."""
    if beside is not None and beside.in_transaction():
        yield beside
        return
    writing = may_write.set(False)
    try:
        if beside is None:
            with read_scope() as session:
                yield session
            return
        session = Session(bind=beside.get_bind(), join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.rollback()
            session.close()
    finally:
        may_write.reset(writing)


def get_db() -> Iterator[Session]:
    """FastAPI dependency: one session per request, committed when the route succeeds.

    Routes use it as :data:`REQUEST_DB` (function scope): the commit then happens once the
    route has returned and its response is rendered, but before a byte of the response is
    sent, so a client never sees a 2xx for a write that did not commit (the default "request"
    scope commits after the response has gone)."""
    with session_scope() as session:
        yield session


#: The request's session as a route parameter default (``db: Session = REQUEST_DB``): see
#: :func:`get_db` for why it is function-scoped. Every route and dependency uses this one, so a
#: request has exactly one session.
REQUEST_DB: Any = Depends(get_db, scope="function")


#: A row id in a URL: a positive integer the database can hold (a larger one is a 422, not a
#: 500 from the driver).
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


@contextmanager
def scratch_database(postgres_admin_url: str | None = None) -> Iterator[str]:
    """The URL of a new, empty database, removed afterwards (benchmarks and test runs): a
    database created beside ``postgres_admin_url``, or without one a SQLite file."""
    if postgres_admin_url is None:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/scratch.db"
        return
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    name = f"tongban_scratch_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(postgres_admin_url).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def alembic_config(connection: Any | None = None) -> Any:
    """Alembic's config for the migrations shipped in the package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "tongban:migrations")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_schema(engine: Engine | None = None) -> None:
    """Migrate the database to the newest revision (creates it when empty)."""
    from alembic import command

    with (engine or get_engine()).begin() as connection:
        command.upgrade(alembic_config(connection), "head")


def head_revision() -> str | None:
    """The newest migration shipped with this code."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def schema_revision(engine: Engine | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with (engine or get_engine()).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
