"""Test set-up: the suite runs against SQLite and PostgreSQL, each migrated once per run.

Every test runs inside a transaction that is rolled back afterwards; the app, the CLI and
the test itself share that transaction through ``core.db.get_sessionmaker``.

PostgreSQL: ``TONGBAN_TEST_POSTGRES_URL`` (default the local server); a fresh database per run.
Missing PostgreSQL skips those tests with a reason, or fails with ``TONGBAN_REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

import asyncio
import os
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

os.environ["TONGBAN_ENV"] = "test"
os.environ["TONGBAN_SECRET_KEY"] = "test-secret-key-that-is-long-enough-0123456789"
os.environ.pop("TONGBAN_DATABASE_URL", None)

import tongban.metrics_registry  # noqa: F401  (every feeder's metrics declared)
from tongban.core import db as core_db
from tongban.core.config import get_settings

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BACKENDS = ["sqlite", "postgresql"]


def _flag(name: str) -> bool:
    return os.environ.get(name, "") in {"1", "true", "yes"}


def _prepare(engine: Engine) -> None:
    from tongban.demo.assessment import load_assessment_demo
    from tongban.demo.benchmark import load_benchmark_demo
    from tongban.demo.catalog import load_catalog_demo
    from tongban.demo.city import load_demo
    from tongban.demo.rectification import load_rectification_demo
    from tongban.demo.reviews import load_reviews_demo
    from tongban.org.service import load_reference_divisions

    core_db.upgrade_schema(engine)
    with Session(engine) as session:
        load_reference_divisions(session)
        load_demo(session)
        load_catalog_demo(session)
        load_benchmark_demo(session)
        load_assessment_demo(session)
        load_reviews_demo(session)
        load_rectification_demo(session)
        session.commit()


#: Statements that ran on an event loop's thread (an ``async def`` route or dependency that
#: queried): every test fails that caused one (``_no_queries_on_the_event_loop``).
LOOP_QUERIES: list[str] = []


def _guard_event_loop(engine: Engine) -> None:
    """Record every statement executed on a thread that runs an asyncio event loop."""

    @event.listens_for(engine, "before_cursor_execute")
    def _on_loop(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # a worker thread or the test itself: where queries belong
        LOOP_QUERIES.append(f"{statement[:200]}\n{''.join(traceback.format_stack(limit=12))}")


@pytest.fixture(autouse=True)
def _no_queries_on_the_event_loop() -> Iterator[None]:
    LOOP_QUERIES.clear()
    yield
    found, LOOP_QUERIES[:] = list(LOOP_QUERIES), []
    assert not found, "在事件循环线程上执行了数据库语句（async def 路由或依赖）：\n" + found[0]


def reachable_postgres() -> str:
    """The admin URL of the tests' PostgreSQL server; the test skips without one (fails when
    ``TONGBAN_REQUIRE_POSTGRES`` is set)."""
    url = os.environ.get("TONGBAN_TEST_POSTGRES_URL", DEFAULT_PG_URL)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        if _flag("TONGBAN_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL 不可用：{exc}")
        pytest.skip(f"PostgreSQL 不可用：{type(exc).__name__}")
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def backend_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated database with reference and demo data for the requested backend."""
    backend: str = request.param
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("db") / "tongban-test.db"
        engine = core_db.make_engine(f"sqlite:///{path}")
        _guard_event_loop(engine)
        _prepare(engine)
        yield engine
        engine.dispose()
        return
    admin_url = os.environ.get("TONGBAN_TEST_POSTGRES_URL", DEFAULT_PG_URL)
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        message = f"PostgreSQL 不可用（{admin_url}）：{type(exc).__name__}"
        if _flag("TONGBAN_REQUIRE_POSTGRES"):
            pytest.fail(message + "；TONGBAN_REQUIRE_POSTGRES=1 要求必须运行")
        pytest.skip(message)
    admin.dispose()
    with core_db.scratch_database(admin_url) as url:
        engine = core_db.make_engine(url)
        _guard_event_loop(engine)
        try:
            _prepare(engine)
            yield engine
        finally:
            engine.dispose()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend_engine" in metafunc.fixturenames:
        metafunc.parametrize("backend_engine", BACKENDS, indirect=True, scope="session")


@pytest.fixture
def db(backend_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    """A session inside a transaction rolled back after the test; app and CLI share it."""
    connection = backend_engine.connect()
    deferred = core_db.may_write.set(False)  # SQLite: lock only once the test writes
    outer = connection.begin()
    core_db.may_write.reset(deferred)
    factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    monkeypatch.setattr(core_db, "get_sessionmaker", lambda: factory)
    monkeypatch.setattr(core_db, "get_engine", lambda: backend_engine)
    session = factory()
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture(autouse=True)
def _fresh_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TONGBAN_REPORT_DIR", str(tmp_path / "reports"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
