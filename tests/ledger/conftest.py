"""The shipped ledger types loaded, and a small township-powers ledger: 3 法定, 2 赋权 and 2 委托
items; two townships of 巴州区 and 文旅新区 (the 委托 org)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from tongban.core.security import SYSTEM_ACTOR
from tongban.ledger import service
from tongban.org import service as org_service
from tongban.org.models import Org

POWERS = "township-powers"
ITEMS = """事项编码,事项名称,类别
FD-001,对违反村庄规划建房行为的处罚,法定
FD-002,农村村民宅基地审批,法定
FD-003,对未按规定设置临时厕所的处罚,法定
FQ-001,对擅自占用城市道路的处罚,赋权
FQ-002,户外广告设施设置审批,赋权
WT-001,景区内建设项目规划许可,委托
WT-002,对景区内违法建设的处罚,委托
"""


def csv_of(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode())


@dataclass
class World:
    east: Org
    west: Org
    zone: Org
    county: Org


def make_world(db: Session) -> World:
    """The shipped types and the items above; the orgs the tests use."""
    service.load_shipped_types(db)
    service.import_items(db, actor=SYSTEM_ACTOR, type_code=POWERS, source=csv_of(ITEMS),
                         filename="事项.csv")
    return World(*(org_service.resolve_org(db, ref=r) for r in (
        "巴州区/东城街道", "巴州区/西城街道", "文旅新区", "巴州区")))


@pytest.fixture
def world(db: Session) -> World:
    return make_world(db)
