"""Third-party channels: staff hand an errand to a channel (a lifecycle step), the partner's
signed callbacks drive the same transitions through the service, the errand keeps its SLA,
replays and repeats change nothing, illegal steps are refused."""

from __future__ import annotations

import itertools
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import api_client, errand_world, make_errand, make_runner, make_user
from tongban.app import create_app
from tongban.core import outbox
from tongban.core.audit import AuditEntry
from tongban.core.config import get_settings
from tongban.core.errors import AuthenticationFailed, Conflict, DomainError, NotFound
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.errand import channels, jobs, partners, service
from tongban.errand.enums import ErrandAction, ErrandState, PartnerChannel
from tongban.errand.models import ChannelEvent, Errand
from tongban.org.service import actor_for

SIM = PartnerChannel.simulated
_events = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_partner() -> None:
    """The simulated partner forgets the orders of earlier tests (their ids are reused)."""
    partners.SIMULATED.orders.clear()
    partners.SIMULATED.cancelled.clear()


def _handed(db: Session, **kwargs: object) -> Errand:
    item, _ = errand_world(db)
    errand = make_errand(db, item=item, **kwargs)  # type: ignore[arg-type]
    return channels.hand_to_channel(db, actor=SYSTEM_ACTOR, errand=errand, code="simulated")


def _callback(db: Session, errand: Errand, status: str, *, event_id: str | None = None,
              reason: str = "") -> channels.CallbackOutcome:
    raw, headers = channels.signed_callback(SIM, {
        "event_id": event_id or f"ev-{next(_events)}", "order_id": errand.channel_order_id,
        "status": status, "reason": reason})
    return channels.receive_callback(
        db, code="simulated", timestamp=headers[channels.TIMESTAMP_HEADER],
        signature_hex=headers[channels.SIGNATURE_HEADER], raw=raw)


def test_handing_to_a_channel_is_an_audited_step_that_leaves_the_pool(db: Session) -> None:
    errand = _handed(db)
    assert errand.state == "offered" and errand.runner_id is None
    assert (errand.channel_code, errand.channel_order_id) == ("simulated", f"tongban-{errand.id}")
    # the partner's order leaves after the step commits, through the outbox
    assert f"tongban-{errand.id}" not in partners.SIMULATED.orders
    outbox.deliver()
    assert partners.SIMULATED.orders[f"tongban-{errand.id}"] == errand.id
    entry = db.scalars(select(AuditEntry).where(
        AuditEntry.object_type == "errand", AuditEntry.object_id == str(errand.id))
        .order_by(AuditEntry.id.desc())).first()
    assert entry is not None and entry.action == "errand.hand_to_channel"
    runner = make_runner(db)
    assert service.eligibility(db, runner=runner, errand=errand)  # not grabbable


def test_handing_over_is_refused_outside_the_open_state_and_by_runners(db: Session) -> None:
    item, _ = errand_world(db)
    runner = make_runner(db)
    errand = make_errand(db, item=item)
    with pytest.raises(DomainError):
        channels.hand_to_channel(db, actor=actor_for(runner.user), errand=errand,
                                 code="simulated")
    service.grab(db, actor=actor_for(runner.user), errand_id=errand.id, runner_id=runner.id)
    with pytest.raises(Conflict):
        channels.hand_to_channel(db, actor=SYSTEM_ACTOR, errand=errand, code="simulated")
    assert errand.channel_code is None and errand.state == "accepted"
    outbox.deliver()
    assert f"tongban-{errand.id}" not in partners.SIMULATED.orders


def test_an_unconfigured_channel_is_not_found_and_none_is_configured_in_production(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    item, _ = errand_world(db)
    errand = make_errand(db, item=item)
    with pytest.raises(NotFound):
        channels.hand_to_channel(db, actor=SYSTEM_ACTOR, errand=errand, code="meituan")
    monkeypatch.setenv("TONGBAN_ENV", "production")
    get_settings.cache_clear()
    assert partners.configured() == {}
    assert ErrandAction.hand_to_channel not in service.allowed_actions(
        db, actor=SYSTEM_ACTOR, errand=errand)


def test_callbacks_drive_the_whole_lifecycle_with_custody_and_keep_the_sla(db: Session) -> None:
    errand = _handed(db)
    due = errand.due_at
    assert due is not None
    for status in ("accepted", "picked_up", "at_window", "done", "delivered"):
        assert _callback(db, errand, status).outcome == "applied"
    assert errand.state == "delivered" and errand.due_at == due
    assert all(getattr(errand, f"{s}_at") for s in ("accepted", "picked_up", "done"))
    first = errand.handovers[0]
    assert (first.from_name, first.to_kind, first.to_name) == ("王芳", "runner", "模拟渠道")
    actors = db.scalars(select(AuditEntry.actor).where(
        AuditEntry.object_type == "errand", AuditEntry.object_id == str(errand.id),
        AuditEntry.action == "errand.pick_up")).all()
    assert actors == ["channel:simulated"]
    assert errand.rated_at is None  # the requester still rates it


def test_an_overdue_channel_errand_is_escalated_like_any(db: Session) -> None:
    errand = _handed(db)
    _callback(db, errand, "accepted")
    assert errand.due_at is not None
    assert jobs.escalate_overdue(db, now=errand.due_at.replace(year=errand.due_at.year + 1)) >= 1


def test_an_illegal_step_by_callback_is_refused_and_nothing_is_stored(db: Session) -> None:
    errand = _handed(db)
    with pytest.raises(Conflict):
        _callback(db, errand, "delivered", event_id="early")
    assert errand.state == "offered"
    assert db.scalar(select(ChannelEvent).where(ChannelEvent.event_id == "early")) is None


def test_pickup_by_callback_needs_the_requesters_authorisation(db: Session) -> None:
    errand = _handed(db, authorised=False)
    _callback(db, errand, "accepted")
    with pytest.raises(Conflict, match="委托书"):
        _callback(db, errand, "picked_up")
    assert errand.state == "accepted"


def test_a_failed_errand_needs_the_documents_returned_first(db: Session) -> None:
    errand = _handed(db)
    _callback(db, errand, "accepted")
    _callback(db, errand, "picked_up")
    with pytest.raises(Conflict):
        _callback(db, errand, "failed", reason="窗口不予受理")
    _callback(db, errand, "returned")
    assert _callback(db, errand, "failed", reason="窗口不予受理").outcome == "applied"
    assert errand.state == "failed" and errand.reason == "窗口不予受理"


def test_a_replayed_event_and_a_repeated_status_change_nothing(db: Session) -> None:
    errand = _handed(db)
    assert _callback(db, errand, "accepted", event_id="a-1").outcome == "applied"
    accepted_at = errand.accepted_at
    assert _callback(db, errand, "accepted", event_id="a-1").outcome == "duplicate"
    assert _callback(db, errand, "accepted", event_id="a-2").outcome == "unchanged"
    assert errand.accepted_at == accepted_at
    steps = db.scalars(select(AuditEntry.action).where(
        AuditEntry.object_id == str(errand.id), AuditEntry.action == "errand.accept")).all()
    assert steps == ["errand.accept"]


def test_a_rejected_order_goes_back_to_the_pool(db: Session) -> None:
    errand = _handed(db)
    order = errand.channel_order_id
    _callback(db, errand, "rejected", event_id="r-1")
    assert errand.state == "open" and errand.channel_code is None
    raw, headers = channels.signed_callback(SIM, {"event_id": "r-1", "order_id": order,
                                                  "status": "rejected", "reason": ""})
    replay = channels.receive_callback(db, code="simulated", raw=raw,
                                       timestamp=headers[channels.TIMESTAMP_HEADER],
                                       signature_hex=headers[channels.SIGNATURE_HEADER])
    assert (replay.outcome, replay.state) == ("duplicate", "open")
    runner = make_runner(db)
    assert not service.eligibility(db, runner=runner, errand=errand)


def test_staff_cancelling_cancels_the_partners_order(db: Session) -> None:
    errand = _handed(db)
    order = errand.channel_order_id
    service.transition(db, actor=SYSTEM_ACTOR, errand=errand, action=ErrandAction.cancel,
                       reason="申请人撤回")
    assert errand.state == "cancelled" and order not in partners.SIMULATED.cancelled
    outbox.deliver()
    assert order in partners.SIMULATED.cancelled


def test_the_partner_cancelling_cancels_the_errand(db: Session) -> None:
    errand = _handed(db)
    _callback(db, errand, "cancelled")
    assert errand.state == "cancelled" and errand.reason == "模拟渠道：已取消"


def test_our_runners_cannot_step_a_channels_errand(db: Session) -> None:
    errand = _handed(db)
    runner = make_runner(db)
    assert service.allowed_actions(db, actor=actor_for(runner.user), errand=errand) == frozenset()


# ---------------------------------------------------------------- signatures


def _signed(errand: Errand, **body: str) -> tuple[bytes, dict[str, str]]:
    return channels.signed_callback(SIM, {"event_id": "s-1", "order_id": errand.channel_order_id,
                                          "status": "accepted", "reason": "", **body})


def _receive(db: Session, raw: bytes, headers: dict[str, str]) -> channels.CallbackOutcome:
    return channels.receive_callback(db, code="simulated",
                                     timestamp=headers[channels.TIMESTAMP_HEADER],
                                     signature_hex=headers[channels.SIGNATURE_HEADER], raw=raw)


def test_a_tampered_body_is_refused(db: Session) -> None:
    errand = _handed(db)
    raw, headers = _signed(errand)
    with pytest.raises(AuthenticationFailed):
        _receive(db, raw.replace(b"accepted", b"cancelled"), headers)
    assert errand.state == "offered"


def test_a_signature_with_another_secret_is_refused(db: Session) -> None:
    errand = _handed(db)
    raw, headers = _signed(errand)
    headers[channels.SIGNATURE_HEADER] = channels.signature(
        secret=b"not-the-secret", timestamp=headers[channels.TIMESTAMP_HEADER],
        body={"event_id": "s-1", "order_id": errand.channel_order_id, "status": "accepted",
              "reason": ""})
    with pytest.raises(AuthenticationFailed):
        _receive(db, raw, headers)
    assert errand.state == "offered"


def test_the_configured_secret_signs(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    errand = _handed(db)
    raw, headers = _signed(errand)  # with the derived secret
    monkeypatch.setenv("TONGBAN_ERRAND_CHANNEL_SECRETS", "simulated:s3cret")
    get_settings.cache_clear()
    with pytest.raises(AuthenticationFailed):
        _receive(db, raw, headers)
    assert channels.secret_of(SIM) == b"s3cret"
    assert _receive(db, *_signed(errand)).outcome == "applied"


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_stale_or_future_timestamp_is_refused(db: Session, skew: int) -> None:
    errand = _handed(db)
    raw, headers = channels.signed_callback(SIM, {
        "event_id": "t-1", "order_id": errand.channel_order_id, "status": "accepted",
        "reason": ""}, at=time.time() + skew)
    with pytest.raises(AuthenticationFailed):
        _receive(db, raw, headers)
    assert errand.state == "offered"


def test_a_timestamp_inside_the_window_is_taken(db: Session) -> None:
    errand = _handed(db)
    raw, headers = channels.signed_callback(SIM, {
        "event_id": "t-2", "order_id": errand.channel_order_id, "status": "accepted",
        "reason": ""}, at=time.time() - 290)
    assert _receive(db, raw, headers).outcome == "applied"


def test_an_unknown_order_is_not_found(db: Session) -> None:
    _handed(db)
    raw, headers = channels.signed_callback(SIM, {"event_id": "u-1", "order_id": "SIM-0",
                                                  "status": "accepted", "reason": ""})
    with pytest.raises(NotFound):
        _receive(db, raw, headers)


# ---------------------------------------------------------------- the public route


def _post(client: TestClient, raw: bytes, headers: dict[str, str], code: str = "simulated") -> object:
    return client.post(f"/api/v1/errand/channels/{code}/callback", content=raw,
                       headers={**headers, "Content-Type": "application/json"})


def test_the_callback_route_needs_no_login_but_a_signature(db: Session) -> None:
    errand = _handed(db)
    client = TestClient(create_app())
    raw, headers = _signed(errand)
    bad = client.post("/api/v1/errand/channels/simulated/callback", content=raw,
                      headers={"Content-Type": "application/json"})
    assert bad.status_code == 401
    db.refresh(errand)
    assert errand.state == "offered"
    ok = client.post("/api/v1/errand/channels/simulated/callback", content=raw,
                     headers={**headers, "Content-Type": "application/json"})
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"outcome": "applied", "errand_id": errand.id, "state": "accepted"}
    again = client.post("/api/v1/errand/channels/simulated/callback", content=raw,
                        headers={**headers, "Content-Type": "application/json"})
    assert again.json()["outcome"] == "duplicate"


def test_the_callback_route_answers_404_for_an_unknown_order_or_channel(db: Session) -> None:
    _handed(db)
    client = TestClient(create_app())
    raw, headers = channels.signed_callback(SIM, {"event_id": "x", "order_id": "SIM-0",
                                                  "status": "accepted", "reason": ""})
    assert client.post("/api/v1/errand/channels/simulated/callback", content=raw,
                       headers=headers).status_code == 404
    assert client.post("/api/v1/errand/channels/meituan/callback", content=raw,
                       headers=headers).status_code == 404


def test_staff_hand_over_through_the_api_and_a_liaison_only_in_its_zone(db: Session) -> None:
    item, _ = errand_world(db)
    errand = make_errand(db, item=item)
    other = api_client(db, make_user(db, role=Role.liaison, org="511921"))
    assert other.post(f"/api/v1/errands/{errand.id}/channel",
                      json={"channel": "simulated"}).status_code == 404
    own = api_client(db, make_user(db, role=Role.liaison, org="511902"))
    done = own.post(f"/api/v1/errands/{errand.id}/channel", json={"channel": "simulated"})
    assert done.status_code == 200, done.text
    assert done.json()["partner_channel"] == "simulated"
    assert done.json()["state"] == ErrandState.offered.value


def test_the_list_offers_a_channel_only_when_one_is_named_in_the_settings(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.factories import errand_world, logged_in_client, make_errand, make_user
    from tongban.core.config import get_settings
    from tongban.core.security import Role

    item, _ = errand_world(db)
    make_errand(db, item=item)
    monkeypatch.delenv("TONGBAN_ERRAND_CHANNELS", raising=False)
    get_settings.cache_clear()
    staff = logged_in_client(db, make_user(db, role=Role.liaison, org="511902"))
    assert "转交第三方" not in staff.get("/errands").text  # the test channel stays hidden
    monkeypatch.setenv("TONGBAN_ERRAND_CHANNELS", "simulated")
    get_settings.cache_clear()
    assert "转交第三方" in staff.get("/errands").text
