"""Pulls from where a department publishes its data: a file at a web address and a table in
its own database (PostgreSQL here), due once per update period; a failed pull is told and the
rest go on; the sources a stranger could turn against the server are refused."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from tests.conftest import reachable_postgres
from tests.datasharing.conftest import Catalog
from tests.factories import actor_of, make_user
from tests.live import free_port
from tongban.core.config import get_settings
from tongban.core.errors import DomainError, PermissionDenied
from tongban.core.notify import Notification
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.datasharing import service
from tongban.datasharing.enums import Frequency, OpenType, ShareType
from tongban.datasharing.models import Dataset, Delivery
from tongban.datasharing.sources import check_source, shown

FILE = "许可证号,统一社会信用代码\nSP-1,11511301008778255F\nSP-2,11511301008778255G\n"


class _Files(ThreadingHTTPServer):
    def __init__(self) -> None:
        self.asked: list[str] = []
        super().__init__(("127.0.0.1", free_port()), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Files

    def do_GET(self) -> None:
        self.server.asked.append(self.path)
        if not self.path.startswith("/open/"):
            self.send_error(404)
            return
        body = FILE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def files() -> Iterator[_Files]:
    server = _Files()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def _register(db: Session, code: str, url: str, table: str = "", *,
              actor: object = SYSTEM_ACTOR) -> Dataset:
    dataset = db.scalars(select(Dataset).where(Dataset.code == code)).one()
    return service.save_dataset(db, actor=actor, fields=service.specs_of(dataset),  # type: ignore[arg-type]
                                given=service.DatasetInput(
        code=code, name=dataset.name, department=dataset.department.code,
        frequency=Frequency(dataset.frequency), share_type=ShareType(dataset.share_type),
        open_type=OpenType(dataset.open_type), key_data=dataset.key_data,
        pull_url=url, pull_table=table))


def test_a_web_source_is_pulled_once_a_period_and_a_failure_is_told(
        db: Session, catalog: Catalog, files: _Files) -> None:
    base = f"http://127.0.0.1:{files.server_address[1]}"
    _register(db, "T-MKT-2", f"{base}/open/food.csv?token=secret")
    _register(db, "T-CIV-1", f"{base}/gone/marriage.csv")
    liaison = make_user(db, role=Role.liaison, org=catalog.civil.code)
    db.flush()
    today = date(2026, 11, 20)
    assert service.due_pulls(db, as_of=today) == ["T-CIV-1", "T-MKT-2"]
    report = service.pull_due(as_of=today)
    assert report.pulled == ["T-MKT-2"] and list(report.failed) == ["T-CIV-1"]
    assert "404" in report.failed["T-CIV-1"]
    delivery = db.scalars(select(Delivery).join(Dataset).where(Dataset.code == "T-MKT-2")).one()
    assert (delivery.source, delivery.rows, delivery.invalid_cells, delivery.filename) == (
        "pull", 2, 1, "food.csv")
    assert delivery.delivered_on == today
    told = db.scalars(select(Notification).where(Notification.recipient_id == liaison.id)).all()
    assert [n.title for n in told] == ["数据拉取失败：婚姻登记信息"]
    assert "secret" not in told[0].body
    # monthly: pulled for this month; the next run this month pulls only what failed
    assert service.due_pulls(db, as_of=date(2026, 11, 25)) == ["T-CIV-1"]
    assert service.due_pulls(db, as_of=date(2026, 12, 1)) == ["T-CIV-1", "T-MKT-2"]


def test_a_database_table_is_pulled(db: Session, catalog: Catalog) -> None:
    admin = reachable_postgres()
    table = f"civil_marriage_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE TABLE {table} ("登记编号" text, "登记日期" date, '
                              '"备注" text)'))
            conn.execute(text(f"INSERT INTO {table} VALUES ('DJ-1', '2026-10-08', NULL), "
                              "('DJ-1', '2026-10-09', '重复'), (NULL, '2026-10-10', '')"))
        _register(db, "T-CIV-1", admin, table)
        db.flush()
        done = service.pull(db, actor=SYSTEM_ACTOR, dataset_code="T-CIV-1",
                            on=date(2026, 11, 3))
        assert (done.check.rows, done.check.duplicate_keys, done.check.missing_required) == (
            3, 1, 1)
        assert done.check.unknown_columns == ["备注"]
        assert done.delivery.source == "pull" and len(done.delivery.sha256) == 64
    finally:
        with engine.connect() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()


@pytest.mark.parametrize(("url", "table", "reason"), [
    ("file:///etc/passwd", "", "不支持"),
    ("sqlite:////work/tongban.db", "user", "不支持从 sqlite 拉取"),
    ("ftp://example.org/a.csv", "", "不支持"),
    ("postgresql+psycopg://u:p@db.example/dept", "", "须填写表名"),
    ("postgresql+psycopg://u:p@db.example/dept", "t; DROP TABLE x", "须填写表名"),
    ("https://data.example/a.csv", "t", "不需要表名"),
    ("", "t", "没有数据库地址"),
])
def test_sources_a_stranger_could_turn_against_the_server_are_refused(
        url: str, table: str, reason: str) -> None:
    with pytest.raises(DomainError) as refused:
        check_source(url, table)
    assert reason in refused.value.message


def test_tongbans_own_database_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_DATABASE_URL", "postgresql+psycopg://tb:pw@10.0.0.5:5432/tongban")
    get_settings.cache_clear()
    with pytest.raises(DomainError, match="自己的数据库"):
        check_source("postgresql://reader:x@10.0.0.5:5432/tongban", "user")
    assert check_source("postgresql://reader:x@10.0.0.5:5432/dept", "t") == (
        "postgresql://reader:x@10.0.0.5:5432/dept", "t")


def test_a_source_is_shown_without_its_secrets() -> None:
    assert shown("postgresql+psycopg://reader:s3cret@db.example/dept") == \
        "postgresql+psycopg://reader:***@db.example/dept"
    assert shown("https://data.example/open/a.csv?token=s3cret") == \
        "https://data.example/open/a.csv"


def test_only_the_catalogs_editors_register_a_source(db: Session, catalog: Catalog) -> None:
    with pytest.raises(PermissionDenied):
        _register(db, "T-MKT-2", "https://data.example/a.csv",
                  actor=actor_of(db, role=Role.liaison, org=catalog.market.code))
    assert db.scalars(select(Dataset.pull_url).where(Dataset.code == "T-MKT-2")).one() == ""
