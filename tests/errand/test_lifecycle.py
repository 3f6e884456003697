"""The errand lifecycle: the issue's states, legal steps only, authorisation before pickup,
custody of documents, timestamps and audit entries."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import errand_world, make_errand, make_runner
from tongban.core.audit import AuditEntry
from tongban.core.errors import Conflict, DomainError, PermissionDenied
from tongban.core.security import SYSTEM_ACTOR
from tongban.errand import service
from tongban.errand.enums import TRANSITIONS, ErrandAction, ErrandState, Holder
from tongban.org.service import actor_for

HAPPY = [ErrandAction.pick_up, ErrandAction.at_window, ErrandAction.finish, ErrandAction.deliver]


def test_state_codes_and_labels_are_the_issues() -> None:
    assert {s.value: s.label for s in ErrandState} == {
        "submitted": "已提交", "open": "待接单", "offered": "已派单", "accepted": "已接单",
        "picked_up": "已取件", "at_window": "窗口办理中", "done": "已办结", "delivered": "已送达",
        "rated": "已评价", "cancelled": "已取消", "failed": "办理失败"}


def test_a_submitted_request_is_published_and_audited(db: Session) -> None:
    item, _ = errand_world(db)
    errand = make_errand(db, item=item)
    assert errand.state == "open" and errand.open_at is not None
    assert errand.zone.code == "511902"
    names = db.scalars(select(AuditEntry.action).where(
        AuditEntry.object_type == "errand", AuditEntry.object_id == str(errand.id))).all()
    assert names == ["errand.submitted", "errand.publish"]


def test_the_whole_lifecycle_records_times_custody_and_frees_the_slot(db: Session) -> None:
    item, _ = errand_world(db)
    runner = make_runner(db)
    errand = make_errand(db, item=item)
    actor = actor_for(runner.user)
    service.grab(db, actor=actor, errand_id=errand.id, runner_id=runner.id)
    assert runner.active_count == 1
    for action in HAPPY:
        service.transition(db, actor=actor, errand=errand, action=action)
    assert errand.state == "delivered" and runner.active_count == 0
    assert all(getattr(errand, f"{s}_at") for s in
               ("accepted", "picked_up", "at_window", "done", "delivered"))
    assert [(h.from_kind, h.to_kind) for h in errand.handovers] == [
        ("requester", "runner"), ("runner", "window"), ("window", "runner"),
        ("runner", "requester")]
    names = db.scalars(select(AuditEntry.action).where(
        AuditEntry.object_type == "errand", AuditEntry.object_id == str(errand.id))
        .order_by(AuditEntry.id)).all()
    assert names[2:] == ["errand.grab", "errand.pick_up", "errand.at_window", "errand.finish",
                         "errand.deliver"]


@pytest.mark.parametrize("state", list(ErrandState))
def test_only_the_tables_steps_are_allowed_from_each_state(db: Session, state: ErrandState) -> None:
    item, _ = errand_world(db)
    runner = make_runner(db)
    errand = make_errand(db, item=item)
    errand.state, errand.runner_id = state.value, runner.id
    db.flush()
    db.refresh(errand)
    allowed = service.allowed_actions(db, actor=actor_for(runner.user), errand=errand) \
        | service.allowed_actions(db, actor=SYSTEM_ACTOR, errand=errand) \
        | service.allowed_actions(db, actor=service.REQUESTER, errand=errand)
    expected = {a for a, (sources, _, _) in TRANSITIONS.items()
                if state in sources and a is not ErrandAction.grab}
    assert allowed == expected
    for action in set(ErrandAction) - expected - {ErrandAction.grab}:
        with pytest.raises(Conflict):
            service.transition(db, actor=SYSTEM_ACTOR, errand=errand, action=action, reason="x")
        assert errand.state == state.value


def test_no_pickup_without_the_requesters_authorisation(db: Session) -> None:
    item, _ = errand_world(db)
    runner = make_runner(db)
    errand = make_errand(db, item=item, authorised=False)
    actor = actor_for(runner.user)
    service.grab(db, actor=actor, errand_id=errand.id, runner_id=runner.id)
    assert ErrandAction.pick_up not in service.allowed_actions(db, actor=actor, errand=errand)
    with pytest.raises(Conflict, match="授权"):
        service.transition(db, actor=actor, errand=errand, action=ErrandAction.pick_up)
    assert errand.state == "accepted" and errand.handovers == []


def test_another_runner_cannot_step_someone_elses_errand(db: Session) -> None:
    item, _ = errand_world(db)
    runner, other = make_runner(db), make_runner(db)
    errand = make_errand(db, item=item)
    service.grab(db, actor=actor_for(runner.user), errand_id=errand.id, runner_id=runner.id)
    with pytest.raises(PermissionDenied):
        service.transition(db, actor=actor_for(other.user), errand=errand,
                           action=ErrandAction.pick_up)


def test_failure_needs_a_reason_and_the_documents_back_first(db: Session) -> None:
    item, _ = errand_world(db)
    runner = make_runner(db)
    errand = make_errand(db, item=item)
    actor = actor_for(runner.user)
    service.grab(db, actor=actor, errand_id=errand.id, runner_id=runner.id)
    service.transition(db, actor=actor, errand=errand, action=ErrandAction.pick_up)
    with pytest.raises(Conflict, match="交还"):
        service.transition(db, actor=actor, errand=errand, action=ErrandAction.fail, reason="缺材料")
    service.return_documents(db, actor=actor, errand=errand)
    assert service.holder(errand) is Holder.requester
    with pytest.raises(DomainError, match="原因"):
        service.transition(db, actor=actor, errand=errand, action=ErrandAction.fail)
    service.transition(db, actor=actor, errand=errand, action=ErrandAction.fail, reason="缺材料")
    assert errand.state == "failed" and errand.reason == "缺材料" and runner.active_count == 0


def test_cancel_needs_staff_of_the_zone_and_a_reason(db: Session) -> None:
    item, _ = errand_world(db)
    errand = make_errand(db, item=item)
    from tests.factories import actor_of
    from tongban.core.security import Role
    with pytest.raises(PermissionDenied):
        service.transition(db, actor=actor_of(db, role=Role.liaison, org="511903"), errand=errand,
                           action=ErrandAction.cancel, reason="重复")
    with pytest.raises(DomainError):
        service.transition(db, actor=actor_of(db, role=Role.liaison, org="511902"), errand=errand,
                           action=ErrandAction.cancel)
    service.transition(db, actor=actor_of(db, role=Role.liaison, org="511902"), errand=errand,
                       action=ErrandAction.cancel, reason="重复提交")
    assert errand.state == "cancelled" and errand.cancelled_at is not None


def test_an_offer_declined_goes_back_to_open_and_an_accepted_one_takes_a_slot(db: Session) -> None:
    item, _ = errand_world(db)
    runner = make_runner(db, capacity=1)
    errand = make_errand(db, item=item)
    actor = actor_for(runner.user)
    service.transition(db, actor=SYSTEM_ACTOR, errand=errand, action=ErrandAction.offer,
                       offer_to=runner)
    service.transition(db, actor=actor, errand=errand, action=ErrandAction.decline)
    assert errand.state == "open" and errand.runner_id is None and runner.active_count == 0
    service.transition(db, actor=SYSTEM_ACTOR, errand=errand, action=ErrandAction.offer,
                       offer_to=runner)
    service.transition(db, actor=actor, errand=errand, action=ErrandAction.accept)
    assert errand.state == "accepted" and runner.active_count == 1


def test_going_off_duty_declines_the_offers_waiting_on_the_runner(db: Session) -> None:
    from tongban.errand.enums import OfferOutcome
    from tongban.errand.models import Offer

    item, _ = errand_world(db)
    runner, other = make_runner(db), make_runner(db)
    waiting, elsewhere = make_errand(db, item=item), make_errand(db, item=item)
    service.set_duty(db, actor=actor_for(runner.user), runner=runner, on_duty=True)
    service.transition(db, actor=SYSTEM_ACTOR, errand=waiting, action=ErrandAction.offer,
                       offer_to=runner)
    service.transition(db, actor=SYSTEM_ACTOR, errand=elsewhere, action=ErrandAction.offer,
                       offer_to=other)
    service.set_duty(db, actor=actor_for(runner.user), runner=runner, on_duty=False)
    assert (waiting.state, waiting.runner_id) == ("open", None)
    assert (elsewhere.state, elsewhere.runner_id) == ("offered", other.id)  # not this runner's
    offer = db.scalars(select(Offer).where(Offer.errand_id == waiting.id)).one()
    assert offer.outcome == OfferOutcome.declined.value
    actions = db.scalars(select(AuditEntry.action).where(
        AuditEntry.object_type == "errand", AuditEntry.object_id == str(waiting.id))).all()
    assert actions[-1] == "errand.offer_released"


def test_the_requester_rates_through_the_tracking_link_only(db: Session) -> None:
    item, _ = errand_world(db)
    runner = make_runner(db)
    from tongban.errand.service import Request
    submitted = service.submit_public(db, request=Request(
        item_id=item.id, contact_name="李四", phone="13800001111", lat=31.868, lng=106.748,
        authorised=True), client="1.2.3.4")
    errand, token = submitted.errand, submitted.tracking_token
    assert token
    actor = actor_for(runner.user)
    service.grab(db, actor=actor, errand_id=errand.id, runner_id=runner.id)
    for action in HAPPY:
        service.transition(db, actor=actor, errand=errand, action=action)
    with pytest.raises(PermissionDenied):
        service.transition(db, actor=SYSTEM_ACTOR, errand=errand, action=ErrandAction.rate,
                           rating=5)
    service.rate_tracked(db, token=token, rating=5)
    assert errand.state == "rated" and errand.rating == 5


def test_an_offer_not_accepted_in_time_goes_back_to_the_pool_once(db: Session) -> None:
    from datetime import timedelta

    from tongban.errand import jobs

    item, _ = errand_world(db)
    runner = make_runner(db)
    stale, fresh = make_errand(db, item=item), make_errand(db, item=item)
    for errand in (stale, fresh):
        service.transition(db, actor=SYSTEM_ACTOR, errand=errand, action=ErrandAction.offer,
                           offer_to=runner)
    assert stale.offered_at is not None
    stale.offered_at -= timedelta(seconds=61)
    db.flush()
    assert jobs.run(db).offers_expired == 1
    assert (stale.state, stale.runner_id, fresh.state) == ("open", None, "offered")
    assert jobs.run(db).offers_expired == 0
