"""天府通办 featured zones through their workflow against the target of 3, and 互联网+监管:
values against target worst first, scoped to the lead department, reminders to laggards."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import actor_of, api_client, located, make_user
from tests.ledger.conftest import csv_of
from tongban.assessment.models import MetricValue
from tongban.core.config import get_settings
from tongban.core.errors import Conflict, PermissionDenied, ValidationFailed
from tongban.core.notify import Notification
from tongban.core.outbox import OutboxMessage
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.ledger import service
from tongban.ledger.enums import FigureKind
from tongban.org import service as org_service

ZONES = "featured-zones"
SUPERVISION = "internet-supervision"


@pytest.fixture
def zones(db: Session) -> None:
    service.load_shipped_types(db)
    service.import_items(db, actor=SYSTEM_ACTOR, type_code=ZONES, filename="专区.csv",
                         source=csv_of("事项编码,事项名称,类别,责任单位\n"
                                       "Z-1,交通出行服务专区,交通出行,市交通运输局\n"
                                       "Z-2,医疗健康服务专区,医疗健康,市卫生健康委员会\n"))


def _move(db: Session, code: str, owner: str, status: str, reason: str | None = None) -> None:
    service.update_entry(db, actor=SYSTEM_ACTOR, type_code=ZONES,
                         org=org_service.resolve_org(db, ref=owner), item_code=code,
                         given=service.EntryInput(status=status, reason=reason))


def test_a_zone_moves_only_along_its_workflow(db: Session, zones: None) -> None:
    with pytest.raises(Conflict) as caught:
        _move(db, "Z-1", "市交通运输局", "accepted")
    assert "当前为「建设中」，不能「改为已验收」" in caught.value.message
    _move(db, "Z-1", "市交通运输局", "pending")
    with pytest.raises(ValidationFailed) as failed:
        _move(db, "Z-1", "市交通运输局", "failed")
    assert located(failed.value)[0][1] == "原因"
    _move(db, "Z-1", "市交通运输局", "failed", "功能不完整")
    _move(db, "Z-1", "市交通运输局", "pending")
    _move(db, "Z-1", "市交通运输局", "accepted")
    with pytest.raises(Conflict):
        _move(db, "Z-1", "市交通运输局", "building")


def test_the_city_counts_accepted_zones_against_the_target(db: Session, zones: None) -> None:
    _move(db, "Z-1", "市交通运输局", "pending")
    _move(db, "Z-1", "市交通运输局", "accepted")
    _move(db, "Z-2", "市卫生健康委员会", "pending")
    assert service.city_count(db, actor=SYSTEM_ACTOR, type_code=ZONES) == (1, 3)
    service.record_metrics(db, period="2026-11")
    city = org_service.resolve_org(db, ref="511900")
    figures = {row.metric: row.value for row in db.execute(select(
        MetricValue.metric, MetricValue.value).where(
        MetricValue.org_id == city.id, MetricValue.period == "2026-11",
        MetricValue.metric.in_(["zones_accepted", "zones_target"])))}
    assert figures == {"zones_accepted": 1, "zones_target": 3}


@pytest.fixture
def indicators(db: Session) -> None:
    service.load_shipped_types(db)
    service.import_items(db, actor=SYSTEM_ACTOR, type_code=SUPERVISION, filename="指标.csv",
                         source=csv_of("事项编码,事项名称,类别,牵头部门,目标值\n"
                                       "SV-3,执法监管行为覆盖率,司法局,市司法局,90\n"))
    service.import_figures(db, actor=SYSTEM_ACTOR, type_code=SUPERVISION,
                           kind=FigureKind.amount, period="2026-11", filename="值.csv",
                           source=csv_of("单位,事项编码,数值\n市民政局,SV-3,95\n"
                                         "市交通运输局,SV-3,40\n市教育局,SV-3,70\n"))


def test_departments_against_target_worst_first(db: Session, indicators: None) -> None:
    lead = actor_of(db, role=Role.liaison, org="市司法局")
    item, rows = service.supervise(db, actor=lead, code="SV-3", period="2026-11")
    assert item.lead is not None and item.lead.name == "市司法局"
    shown = [(r.org.name, r.value) for r in rows]
    unreported = [name for name, value in shown if value is None]
    assert shown[len(unreported):] == [("市交通运输局", 40), ("市教育局", 70), ("市民政局", 95)]
    assert len(unreported) > 30  # every other department, first
    other = actor_of(db, role=Role.liaison, org="市教育局")
    _, own = service.supervise(db, actor=other, code="SV-3", period="2026-11")
    assert [(r.org.name, r.value) for r in own] == [("市教育局", 70)]


def test_reminders_reach_the_laggards_once(db: Session, indicators: None,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_NOTIFY_CHANNELS", "console")
    get_settings.cache_clear()
    laggard = make_user(db, role=Role.liaison, org="市交通运输局")
    fine = make_user(db, role=Role.liaison, org="市民政局")
    lead = actor_of(db, role=Role.liaison, org="市司法局")
    with pytest.raises(PermissionDenied):
        service.remind_laggards(db, actor=actor_of(db, role=Role.liaison, org="市教育局"),
                                code="SV-3", period="2026-11")
    assert service.remind_laggards(db, actor=lead, code="SV-3", period="2026-11") >= 1
    told = {n.recipient_id: n for n in db.scalars(select(Notification).where(
        Notification.kind == "ledger.reminder"))}
    assert laggard.id in told and fine.id not in told
    assert "目标 90" in told[laggard.id].body and "为 40" in told[laggard.id].body
    queued = db.scalars(select(OutboxMessage).where(
        OutboxMessage.kind.startswith("notify."))).all()
    assert queued  # the other channels leave from the outbox after commit
    assert service.remind_laggards(db, actor=lead, code="SV-3", period="2026-11") == 0


def test_the_api_shows_the_lead_department_every_department(db: Session,
                                                            indicators: None) -> None:
    lead = api_client(db, make_user(db, role=Role.liaison, org="市司法局"))
    found = lead.get("/api/v1/ledgers/supervision/SV-3/2026-11",
                     params={"page_size": 100}).json()
    assert found["total"] > 30
    assert [r["org"] for r in found["items"] if r["value"] is not None] == [
        "市交通运输局", "市教育局", "市民政局"]
    other = api_client(db, make_user(db, role=Role.liaison, org="市教育局"))
    own = other.get("/api/v1/ledgers/supervision/SV-3/2026-11").json()
    assert [(r["org"], r["value"], r["met"]) for r in own["items"]] == [("市教育局", 70, False)]
