"""Long uploads do not stop other writers (issue #22): on SQLite a POST's transaction holds the
write lock from its first statement, so an upload must be read whole before the request
begins its own work. Here, while the import page parses an XLSX, another connection takes the
write lock at once (a public rating would otherwise wait, then get 503)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import PASSWORD, csrf_of
from tests.security.import_paths import xlsx_bytes
from tongban.app import create_app
from tongban.assessment.models import MetricValue
from tongban.core import db as core_db
from tongban.core import tabular
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.org import service as org_service


@pytest.fixture
def committed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A SQLite database of its own whose requests commit for real (no test transaction
    around them, which would hold the write lock itself)."""
    engine = core_db.make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    core_db.upgrade_schema(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as db:
        org_service.load_reference_divisions(db)
        org_service.create_user(db, actor=SYSTEM_ACTOR, username="lock-analyst",
                                display_name="分析员", role=Role.analyst, password=PASSWORD)
        db.commit()
    monkeypatch.setattr(core_db, "get_engine", lambda: engine)
    monkeypatch.setattr(core_db, "get_sessionmaker", lambda: factory)
    yield engine
    engine.dispose()


def _writable_now(path: str) -> bool:
    """Whether another connection takes the write lock without waiting."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


def test_another_writer_is_not_blocked_while_an_upload_is_parsed(
        committed: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(committed.url.database)
    seen: list[bool] = []
    parse_cell = tabular._xlsx_cell

    def watching(cell: object) -> tabular.Cell:
        if len(seen) < 3:
            seen.append(_writable_now(path))
        return parse_cell(cell)

    monkeypatch.setattr(tabular, "_xlsx_cell", watching)
    client = TestClient(create_app())
    client.post("/login", data={"username": "lock-analyst", "password": PASSWORD,
                                "csrf_token": csrf_of(client, "/login")})
    rows = [["period", "org", "metric", "value"],
            *(["2026-02", "巴州区", f"m{n}", str(n)] for n in range(1, 200))]
    answer = client.post("/assessment/import", data={"csrf_token": csrf_of(client, "/assessment/import")},
                         files={"file": ("数据项.xlsx", xlsx_bytes(rows), "application/octet-stream")})
    assert answer.status_code == 200, answer.text[-1500:]
    assert seen == [True, True, True]
    with Session(committed) as db:
        assert db.scalar(select(func.count()).select_from(MetricValue)) == 199
