"""The cascade to the provincial platform against the simulated platform on a real port:
a delivery is registered and pushed after it commits; when the platform changes its standard
the next push is refused, the reason kept, the department and the analysts told the same day
and the points at risk shown; after the switch to the new standard a retry reconnects; a push
sent again is taken once (idempotency); an unreachable platform is tried again later."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.datasharing.conftest import Catalog, csv_bytes
from tests.factories import make_user
from tests.live import free_port
from tongban.core import outbox
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.notify import Notification
from tongban.core.outbox import OutboxMessage
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.datasharing import service
from tongban.datasharing.models import CascadeAttempt, CascadeState, Dataset
from tongban.datasharing.province import Platform

HEADER = "许可证号,统一社会信用代码"
GOOD = "11511301008778255F"


def _deliver(db: Session, *rows: str, on: date = date(2026, 11, 20)) -> int:
    done = service.deliver(db, actor=SYSTEM_ACTOR, dataset_code="T-MKT-2", on=on,
                           source=csv_bytes(*rows, header=HEADER), filename="食品.csv")
    db.flush()
    return done.delivery.id


def _state(db: Session, code: str = "T-MKT-2") -> CascadeState:
    dataset = db.scalars(select(Dataset).where(Dataset.code == code)).one()
    db.expire_all()
    found = db.get(CascadeState, dataset.id)
    assert found is not None
    return found


def _attempts(db: Session) -> list[tuple[str, str]]:
    return [(a.kind, a.outcome) for a in db.scalars(
        select(CascadeAttempt).join(Dataset).where(Dataset.code == "T-MKT-2")
        .order_by(CascadeAttempt.id))]


def test_a_delivery_is_registered_and_pushed_after_it_commits(
        db: Session, catalog: Catalog, platform: Platform) -> None:
    _deliver(db, f"SP-1,{GOOD}", f"SP-2,{GOOD}")
    assert platform.catalog == {} and platform.pushes == []  # nothing leaves before the send
    report = outbox.deliver()
    assert report.sent == 2 and report.failed == 0
    assert platform.catalog["T-MKT-2"]["name"] == "食品经营许可信息"
    assert [p["dataset"] for p in platform.pushes] == ["T-MKT-2"]
    assert platform.pushes[0]["rows"] == 2
    state = _state(db)
    assert state.registered_at is not None and state.standard == "v1"
    assert state.last_success_at is not None and state.failures == 0
    assert _attempts(db) == [("register", "ok"), ("push", "ok")]
    # a dataset not to share (不予共享) is neither registered nor pushed
    service.deliver(db, actor=SYSTEM_ACTOR, dataset_code="T-MKT-3",
                    source=csv_bytes("E-1", header="设备编号"), filename="设备.csv")
    db.flush()
    assert outbox.deliver().sent == 0 and "T-MKT-3" not in platform.catalog


def test_a_standard_change_is_caught_the_same_day_and_a_retry_reconnects(
        db: Session, catalog: Catalog, platform: Platform, monkeypatch: pytest.MonkeyPatch,
) -> None:
    liaison = make_user(db, role=Role.liaison, org=catalog.market.code)
    other = make_user(db, role=Role.liaison, org=catalog.civil.code)
    analyst = make_user(db, role=Role.analyst)
    _deliver(db, f"SP-1,{GOOD}")
    outbox.deliver()
    platform.standard = "v2"  # the province changes its cascade standard
    _deliver(db, f"SP-1,{GOOD}", f"SP-2,{GOOD}", on=date(2026, 11, 21))
    outbox.deliver()
    state = _state(db)
    assert state.failures == 1 and "v2" in state.last_error and "v1" in state.last_error
    assert len(platform.pushes) == 1  # the refused push was not taken
    told = {n.recipient_id: n.title for n in db.scalars(select(Notification).where(
        Notification.title.like("级联失败%")))}
    assert told.get(liaison.id) == told.get(analyst.id) == "级联失败：食品经营许可信息"
    assert other.id not in told  # another department is not told
    # the points at risk under the department's scheme (巴中's D02 数据共享率, 10 points):
    # one of its two datasets to share is failing; the other was never pushed at all
    risk = service.points_at_risk(db, org=catalog.market, failing=1, to_share=2,
                                  period="2026-11")
    assert [(r.indicator, r.points) for r in risk] == [("D02", 5.0)]
    # the jobs retry daily; still v1: refused again, no second alert the same day
    assert service.retry_failed(db, actor=SYSTEM_ACTOR) == 1
    db.flush()
    outbox.deliver()
    assert _state(db).failures == 2
    assert db.scalar(select(Notification.id).where(
        Notification.recipient_id == analyst.id, Notification.title.like("级联失败%"))
        .offset(1)) is None
    # the city switches to the new standard: the retry registers again and pushes
    monkeypatch.setenv("TONGBAN_DATA_CASCADE_STANDARD", "v2")
    get_settings.cache_clear()
    service.retry_failed(db, actor=SYSTEM_ACTOR)
    db.flush()
    outbox.deliver()
    state = _state(db)
    assert state.failures == 0 and state.standard == "v2" and state.last_error == "", \
        [(a.kind, a.outcome, a.message) for a in db.scalars(select(CascadeAttempt))]
    assert platform.catalog["T-MKT-2"]["update_cycle"] == "月"
    assert platform.pushes[-1] == {"dataset": "T-MKT-2", "rows": 2,
                                   "sha256": platform.pushes[-1]["sha256"],
                                   "delivered_on": "2026-11-21"}
    assert _attempts(db) == [("register", "ok"), ("push", "ok"), ("push", "refused"),
                             ("push", "refused"), ("register", "ok"), ("push", "ok")]


def test_the_same_data_pushed_twice_is_taken_once(
        db: Session, catalog: Catalog, platform: Platform) -> None:
    """A department uploads the same file again: the push carries the same idempotency key and
    the platform answers it with its first answer, taking nothing twice."""
    _deliver(db, f"SP-1,{GOOD}")
    _deliver(db, f"SP-1,{GOOD}", on=date(2026, 11, 21))
    assert outbox.deliver().sent == 3  # one registration, two pushes
    assert len(platform.pushes) == 1
    keys = [a.idempotency_key for a in db.scalars(select(CascadeAttempt).where(
        CascadeAttempt.kind == "push"))]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert _attempts(db) == [("register", "ok"), ("push", "ok"), ("push", "ok")]


def test_an_unreachable_platform_is_tried_again_later(
        db: Session, catalog: Catalog, platform: Platform,
        monkeypatch: pytest.MonkeyPatch) -> None:
    reachable = get_settings().data_cascade_url
    monkeypatch.setenv("TONGBAN_DATA_CASCADE_URL", f"http://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    _deliver(db, f"SP-1,{GOOD}")
    report = outbox.deliver()
    assert report.retried == 2 and report.sent == 0
    waiting = db.scalars(select(OutboxMessage).where(OutboxMessage.kind.like("data.%"))).all()
    assert {m.state for m in waiting} == {"pending"} and all(m.attempts == 1 for m in waiting)
    state = _state(db)
    assert state.failures == 2 and "无法连接省平台" in state.last_error
    assert {o for _, o in _attempts(db)} == {"error"}
    assert outbox.deliver().sent == 0  # not due yet: the backoff holds
    monkeypatch.setenv("TONGBAN_DATA_CASCADE_URL", reachable)
    get_settings.cache_clear()
    assert outbox.deliver(now=utcnow() + outbox.backoff(1) + timedelta(seconds=1)).sent == 2
    assert _state(db).failures == 0 and len(platform.pushes) == 1
