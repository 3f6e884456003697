"""Where a department publishes a dataset for Tongban to pull (数据拉取地址): an http(s)
address of a CSV or XLSX file, or a table of a database the department runs (its address in
SQLAlchemy's form, ``postgresql+psycopg://user:password@host/db``, and the table's name).

A source is a way for this server to reach into the network, so only the catalog's editors
register one, and some are refused: other schemes than http, https and the database servers'
(no ``file:``, no SQLite file on this machine) and Tongban's own database. Reading is done
apart from any transaction: a file is spooled first, a table streamed through the checks.
"""

from __future__ import annotations

import re
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import IO, Any
from urllib.parse import urlsplit

from sqlalchemy import MetaData, Table, create_engine, select
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, NoSuchTableError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from tongban.core.config import get_settings
from tongban.core.errors import DomainError
from tongban.core.tabular import Cell

#: The largest file a pull takes from a department's address.
PULL_MAX_BYTES = 512 * 1024 * 1024
#: Database servers a table may be pulled from (a SQLite file would be this machine's).
DATABASES = {"postgresql", "mysql", "mariadb", "oracle", "mssql"}
_TABLE = re.compile(r"\w{1,63}(\.\w{1,63})?")


class PullFailed(DomainError):
    """The source did not give the dataset (unreachable, refused, not a table …)."""


def is_web(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def _database_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DomainError("数据拉取地址应为 http(s) 地址或数据库地址（如 "
                          "postgresql+psycopg://用户:密码@主机/库名）") from exc
    if parsed.get_backend_name() not in DATABASES:
        raise DomainError(f"不支持从 {parsed.get_backend_name()} 拉取：只支持 "
                          f"http(s) 地址和 {'、'.join(sorted(DATABASES))} 数据库")
    own = make_url(get_settings().database_url)
    if (parsed.get_backend_name(), parsed.host, parsed.port, parsed.database) == (
            own.get_backend_name(), own.host, own.port, own.database):
        raise DomainError("不能从通办平台自己的数据库拉取")
    return parsed


def check_source(url: str, table: str) -> tuple[str, str]:
    """A source as given on the dataset's form, checked: ``("", "")`` when none; refused
    (:class:`DomainError`) when the address or table cannot be one."""
    url, table = url.strip(), table.strip()
    if not url:
        if table:
            raise DomainError("填写了表名，但没有数据库地址")
        return "", ""
    if len(url) > 500:
        raise DomainError("数据拉取地址过长（至多500字）")
    if is_web(url):
        if not urlsplit(url).hostname:
            raise DomainError("数据拉取地址缺少主机名")
        if table:
            raise DomainError("http(s) 地址拉取的是文件，不需要表名")
        return url, ""
    _database_url(url)
    if not _TABLE.fullmatch(table):
        raise DomainError("从数据库拉取须填写表名（字母、数字、下划线，可带模式名：schema.table）")
    return url, table


def shown(url: str) -> str:
    """A source as pages show it: a database's password hidden, a web address without its
    query (which may carry a token)."""
    if not url:
        return ""
    if is_web(url):
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "（地址无效）"


@contextmanager
def download(url: str) -> Iterator[IO[bytes]]:
    """The file at a web address, spooled to a temporary file while the block runs."""
    with tempfile.TemporaryFile() as spool:
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                while block := response.read(1 << 20):
                    spool.write(block)
                    if spool.tell() > PULL_MAX_BYTES:
                        raise PullFailed(f"拉取的文件超过 {PULL_MAX_BYTES >> 20} MB")
        except (OSError, ValueError) as exc:
            raise PullFailed(f"无法从 {shown(url)} 拉取：{exc}") from exc
        spool.seek(0)
        yield spool


def _cell(value: Any) -> Cell:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)  # numbers (Decimal, int, float) as the database writes them


class TableRows:
    """A database table's columns and its rows, streamed from an open connection."""

    def __init__(self, connection: Connection, table: Table) -> None:
        self.name = table.fullname
        self.header = [str(c.name) for c in table.columns]
        self._connection = connection
        self._table = table

    def rows(self) -> Iterator[tuple[int, dict[str, Cell]]]:
        result = self._connection.execution_options(stream_results=True, yield_per=5000) \
            .execute(select(self._table))
        for number, row in enumerate(result, start=2):
            yield number, {name: _cell(value) for name, value in zip(self.header, row,
                                                                     strict=True)}


@contextmanager
def table_rows(url: str, table: str) -> Iterator[TableRows]:
    """Open a department's database and its table for reading (one connection, closed after)."""
    address = _database_url(url)
    schema, _, name = table.rpartition(".")
    try:
        engine = create_engine(address, poolclass=NullPool, connect_args={})
    except (NoSuchModuleError, ImportError) as exc:
        raise PullFailed(f"本服务器未安装 {address.get_backend_name()} 数据库驱动") from exc
    try:
        with engine.connect() as connection:
            found = Table(name, MetaData(), schema=schema or None, autoload_with=connection)
            yield TableRows(connection, found)
    except NoSuchTableError as exc:
        raise PullFailed(f"数据库中没有表 {table}") from exc
    except SQLAlchemyError as exc:
        raise PullFailed(f"无法从 {shown(url)} 读取表 {table}："
                         f"{str(getattr(exc, 'orig', exc)).splitlines()[0][:200]}") from exc
    finally:
        engine.dispose()

