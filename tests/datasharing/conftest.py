"""A small catalog of two departments' datasets, and the simulated provincial platform on a
port of its own (a real HTTP peer, as the cascade meets the province's)."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from sqlalchemy.orm import Session

from tests.live import free_port
from tongban.core.config import get_settings
from tongban.core.security import SYSTEM_ACTOR
from tongban.datasharing import service
from tongban.datasharing.province import Platform, create_platform
from tongban.org import service as org_service
from tongban.org.models import Org

MARKET, CIVIL = "市市场监督管理局", "市民政局"
CATALOG = f"""数据集编码,数据集名称,提供部门,更新频率,共享类型,开放类型,重点数据
T-MKT-1,市场主体登记信息,{MARKET},日,无条件,开放,是
T-MKT-2,食品经营许可信息,{MARKET},月,有条件,有条件开放,否
T-MKT-3,特种设备内部台账,{MARKET},月,不予共享,不开放,否
T-CIV-1,婚姻登记信息,{CIVIL},月,有条件,不开放,是
"""
FIELDS = """数据集编码,字段名,类型,必填,格式,主键
T-MKT-1,统一社会信用代码,文本,是,统一社会信用代码,是
T-MKT-1,名称,文本,是,,否
T-MKT-1,成立日期,日期,是,,否
T-MKT-1,注册资本,小数,否,,否
T-MKT-1,负责人身份证号,文本,否,身份证号,否
T-MKT-1,联系电话,文本,否,手机号,否
T-MKT-1,所在区划,文本,否,行政区划代码,否
T-MKT-2,许可证号,文本,是,,是
T-MKT-2,统一社会信用代码,文本,是,统一社会信用代码,否
T-MKT-3,设备编号,文本,是,,是
T-CIV-1,登记编号,文本,是,,是
T-CIV-1,登记日期,日期,是,,否
"""


@dataclass
class Catalog:
    market: Org
    civil: Org


@pytest.fixture
def catalog(db: Session) -> Catalog:
    """The four datasets above, imported as the CLI and the page import them."""
    service.import_catalog(db, actor=SYSTEM_ACTOR, catalog=io.BytesIO(CATALOG.encode()),
                           fields=io.BytesIO(FIELDS.encode()), catalog_name="目录.csv",
                           fields_name="字段.csv")
    return Catalog(org_service.resolve_org(db, ref=MARKET), org_service.resolve_org(db, ref=CIVIL))


def csv_bytes(*rows: str, header: str) -> io.BytesIO:
    return io.BytesIO(("\n".join([header, *rows]) + "\n").encode())


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    """The simulated provincial platform (standard v1, as before March 2026) on a free port;
    this server set to reach it speaking v1."""
    state = Platform(standard="v1")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_platform(state), host="127.0.0.1", port=port,
                                           log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "模拟省平台未能启动"
    monkeypatch.setenv("TONGBAN_DATA_CASCADE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("TONGBAN_DATA_CASCADE_STANDARD", "v1")
    get_settings.cache_clear()
    yield state
    server.should_exit = True
    thread.join(timeout=10)
