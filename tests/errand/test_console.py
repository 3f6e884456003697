"""The dispatcher console: KPIs with their counts, the map's points, the queue, zone modes —
scoped to the zones a user sees; runners are refused."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import csrf_of, errand_world, logged_in_client, make_errand, make_runner, make_user
from tongban.core.audit import AuditEntry
from tongban.core.errors import PermissionDenied
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.errand import service
from tongban.errand.enums import ErrandAction
from tongban.errand.models import ErrandZone
from tongban.org.service import actor_for

EVIL = "<img src=x onerror=alert(1)>"


def test_the_kpis_count_answers_pickup_distance_and_load(db: Session) -> None:
    item, _ = errand_world(db)
    runner = make_runner(db, at=(31.868, 106.749), capacity=2)
    idle = make_runner(db, at=(31.880, 106.749))
    quick = make_errand(db, item=item, at=(31.867, 106.747))
    make_errand(db, item=item, at=(31.867, 106.747))  # waiting: not answered
    late = make_errand(db, item=item, at=(31.867, 106.747))
    late.submitted_at -= timedelta(hours=2)  # accepted two hours after submission
    db.flush()
    actor = actor_for(runner.user)
    first = service.grab(db, actor=actor, errand_id=quick.id, runner_id=runner.id)
    second = service.grab(db, actor=actor, errand_id=late.id, runner_id=runner.id)
    found = service.console(db, actor=SYSTEM_ACTOR)
    k = found.kpis
    assert (k.answered, k.submitted) == (1, 3)
    assert k.picked == 2
    assert k.mean_pickup_km == pytest.approx((first.distance_km + second.distance_km) / 2)
    assert sorted(k.loads) == [0, 2] and k.load_gini == pytest.approx(0.5)
    assert idle.id in [r.id for r in found.runners]
    assert [e.state for e in found.queue] == ["open"]


def test_a_liaison_sees_its_zone_and_a_runner_is_refused(db: Session) -> None:
    item, _ = errand_world(db)
    make_errand(db, item=item, at=(31.867, 106.747), address="巴州区的代办地址")
    make_errand(db, item=item, at=(31.787, 106.636), address="恩阳区的代办地址")
    liaison = make_user(db, role=Role.liaison, org="511903")  # 恩阳区
    found = service.console(db, actor=actor_for(liaison))
    assert [z.name for z in found.zones] == ["恩阳区"]
    assert [e.address for e in found.queue] == ["恩阳区的代办地址"]
    runner = make_runner(db)
    with pytest.raises(PermissionDenied):
        service.console(db, actor=actor_for(runner.user))


def test_the_page_draws_the_map_and_escapes_names(db: Session) -> None:
    item, _ = errand_world(db)
    runner = make_runner(db, at=(31.868, 106.749))
    runner.user.display_name = EVIL
    errand = make_errand(db, item=item, at=(31.867, 106.747), address=EVIL)
    service.transition(db, actor=SYSTEM_ACTOR, errand=errand, action=ErrandAction.offer,
                       offer_to=runner)
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    page = client.get("/errands/console")
    assert page.status_code == 200
    assert EVIL not in page.text and "&lt;img" in page.text
    data = json.loads(re.search(r'<script type="application/json" id="console-map-data">(.*?)'
                                r"</script>", page.text, re.S).group(1))  # type: ignore[union-attr]
    series = {s["name"]: s["data"] for s in data["series"]}
    assert {p["name"] for p in series["县区驻地"]} == {"巴州区", "恩阳区", "通江县", "南江县",
                                                    "平昌县"}
    assert series["已派单"] == [{"name": f"代办#{errand.id}", "value": [106.747, 31.867]}]
    assert [p["value"] for p in series["在岗跑手"]] == [[106.749, 31.868]]
    assert "formatter" not in data["tooltip"]  # the default tooltip escapes names
    assert client.get("/errands/console?days=99999").status_code == 200


def test_managers_set_a_zones_mode_on_the_page_and_liaisons_cannot(db: Session) -> None:
    errand_world(db)
    zone = db.scalar(select(ErrandZone).join(ErrandZone.org).where(ErrandZone.org.has(code="511921")))
    assert zone is not None
    liaison = logged_in_client(db, make_user(db, role=Role.liaison, org="511921"))
    page = liaison.get("/errands/console")
    assert page.status_code == 200 and "/errands/console/mode" not in page.text
    refused = liaison.post("/errands/console/mode", data={
        "csrf_token": csrf_of(liaison), "zone": str(zone.org_id), "mode": "grab"},
        follow_redirects=False)
    assert refused.status_code == 403 and zone.mode is None
    analyst = logged_in_client(db, make_user(db, role=Role.analyst))
    done = analyst.post("/errands/console/mode", data={
        "csrf_token": csrf_of(analyst), "zone": str(zone.org_id), "mode": "dispatch"},
        follow_redirects=False)
    assert done.status_code == 303
    db.refresh(zone)
    assert zone.mode == "dispatch"
    assert db.scalar(select(AuditEntry.id).where(AuditEntry.action == "errand.zone_mode",
                                                 AuditEntry.object_id == str(zone.org_id)))


def test_with_a_tile_layer_the_console_draws_on_the_map(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    from tongban.core.config import get_settings

    errand_world(db)
    monkeypatch.setenv("TONGBAN_MAP_TILE_URL", "https://t{s}.tianditu.gov.cn/{z}/{x}/{y}")
    monkeypatch.setenv("TONGBAN_MAP_TILE_ATTRIBUTION", EVIL)
    get_settings.cache_clear()
    page = logged_in_client(db, make_user(db, role=Role.analyst)).get("/errands/console").text
    assert 'data-tile-map="console-map-data"' in page and "/static/vendor/leaflet/leaflet.js" in page
    assert "echarts.min.js" not in page
    assert EVIL not in page
    monkeypatch.delenv("TONGBAN_MAP_TILE_URL")
    get_settings.cache_clear()
    page = logged_in_client(db, make_user(db, role=Role.analyst)).get("/errands/console").text
    assert "data-tile-map" not in page and "echarts.min.js" in page


def test_an_errand_handed_to_a_channel_names_the_channel_in_the_queue(db: Session) -> None:
    from tongban.errand import channels

    item, _ = errand_world(db)
    errand = make_errand(db, item=item, at=(31.867, 106.747))
    channels.hand_to_channel(db, actor=SYSTEM_ACTOR, errand=errand, code="simulated")
    page = logged_in_client(db, make_user(db, role=Role.analyst)).get("/errands/console").text
    row = page.split(f"#{errand.id}</td>", 1)[1].split("</tr>", 1)[0]
    assert "（第三方）" in row and "已派单" in row


def test_the_console_assigns_reassigns_and_cancels_with_reasons(db: Session) -> None:
    from tongban.errand.enums import OfferOutcome
    from tongban.errand.models import Offer

    item, _ = errand_world(db)
    first, second = make_runner(db, at=(31.868, 106.749)), make_runner(db, at=(31.900, 106.760))
    busy = make_runner(db, capacity=1)
    busy.active_count = 1
    waiting = make_errand(db, item=item, at=(31.867, 106.747))
    doomed = make_errand(db, item=item, at=(31.867, 106.747))
    client = logged_in_client(db, make_user(db, role=Role.liaison, org="511902"))
    page = client.get("/errands/console").text
    row = page.split(f'id="queue-{waiting.id}"')[1].split("</tr>")[0]
    options = re.findall(r'<option value="(\d+)">', row)
    assert options[:2] == [str(first.id), str(second.id)]  # nearest first
    assert str(busy.id) not in options  # no free slot
    csrf = csrf_of(client, "/errands/console")
    refused = client.post(f"/errands/console/{waiting.id}/assign",
                          data={"runner": first.id, "reason": " ", "csrf_token": csrf}).text
    assert "人工派单须写明原因" in refused and waiting.state == "open"
    client.post(f"/errands/console/{waiting.id}/assign",
                data={"runner": first.id, "reason": "多轮无人接单，电话联系后指派",
                      "csrf_token": csrf})
    db.refresh(waiting)
    assert (waiting.state, waiting.runner_id) == ("offered", first.id)
    # 改派: the first offer is withdrawn, the second runner is offered it
    client.post(f"/errands/console/{waiting.id}/assign",
                data={"runner": second.id, "reason": "改派离取件点更近的跑手",
                      "csrf_token": csrf})
    db.refresh(waiting)
    assert (waiting.state, waiting.runner_id) == ("offered", second.id)
    outcomes = [o.outcome for o in db.scalars(select(Offer).where(
        Offer.errand_id == waiting.id).order_by(Offer.id))]
    assert outcomes[0] == OfferOutcome.withdrawn.value and len(outcomes) == 2
    audit = db.scalars(select(AuditEntry).where(
        AuditEntry.object_type == "errand", AuditEntry.object_id == str(waiting.id))
        .order_by(AuditEntry.id)).all()
    assert [a.action for a in audit][-3:] == ["errand.offer", "errand.offer_withdrawn",
                                              "errand.offer"]
    assert audit[-1].reason == "改派离取件点更近的跑手"
    client.post(f"/errands/console/{doomed.id}/cancel",
                data={"reason": "申请人来电撤销", "csrf_token": csrf})
    db.refresh(doomed)
    assert doomed.state == "cancelled" and doomed.reason == "申请人来电撤销"
    # another county's liaison can neither see nor assign it
    other = logged_in_client(db, make_user(db, role=Role.liaison, org="511903"))
    assert other.post(f"/errands/console/{waiting.id}/assign",
                      data={"runner": first.id, "reason": "x",
                            "csrf_token": csrf_of(other, "/errands/console")}).status_code == 404


def test_an_errand_nobody_took_is_flagged_and_its_zone_told_once(db: Session) -> None:
    from tongban.core.notify import Notification

    item, _ = errand_world(db)
    liaison = make_user(db, role=Role.liaison, org="511902")
    fresh = make_errand(db, item=item, at=(31.867, 106.747))
    stale = make_errand(db, item=item, at=(31.867, 106.747))
    stale.submitted_at -= timedelta(minutes=45)  # past errand_answer_minutes (30)
    db.flush()
    assert service.alert_waiting(db) == 1 and service.alert_waiting(db) == 0
    told = db.scalars(select(Notification).where(Notification.recipient_id == liaison.id,
                                                 Notification.key == f"errand:{stale.id}:waiting")).all()
    assert len(told) == 1 and "无人接单" in told[0].title
    page = logged_in_client(db, liaison).get("/errands/console").text
    alert = page.split('data-testid="console-waiting"')[1].split("</div>")[0]
    assert f"#{stale.id}" in alert and f"#{fresh.id}<" not in alert
