"""A rated errand becomes a 好差评 review through the reviews service: channel 跑团, the
errand's zone, item code, number and rating; a 差评 opens its case and tells the liaison;
retries make no second review. And each zone's monthly metrics for the assessment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import errand_world, make_errand, make_runner, make_user
from tongban.assessment.models import MetricValue
from tongban.core.errors import Conflict, DomainError, ValidationFailed
from tongban.core.notify import Notification
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.errand import metrics, service
from tongban.errand.enums import ErrandAction
from tongban.org.service import actor_for
from tongban.reviews import service as reviews
from tongban.reviews.enums import Channel
from tongban.reviews.models import NegativeCase, Review

HAPPY = [ErrandAction.pick_up, ErrandAction.at_window, ErrandAction.finish, ErrandAction.deliver]


def _delivered(db: Session, item=None):  # type: ignore[no-untyped-def]
    if item is None:
        item, _ = errand_world(db)
    runner = make_runner(db)
    errand = make_errand(db, item=item)
    actor = actor_for(runner.user)
    service.grab(db, actor=actor, errand_id=errand.id, runner_id=runner.id)
    for action in HAPPY:
        service.transition(db, actor=actor, errand=errand, action=action)
    return errand


def _errand_reviews(db: Session) -> list[Review]:
    return list(db.scalars(select(Review).where(Review.source == "errand")))


def test_channel_label_is_the_issues() -> None:
    assert Channel.errand.label == "跑团代办"


def test_a_rating_becomes_exactly_one_review_with_the_errands_facts(db: Session) -> None:
    errand = _delivered(db)
    cases_before = db.scalar(select(func.count()).select_from(NegativeCase))
    service.transition(db, actor=service.REQUESTER, errand=errand, action=ErrandAction.rate,
                       rating=4)
    [review] = _errand_reviews(db)
    assert (review.channel, review.level, review.org_id, review.item_code, review.case_no,
            review.source_id) == ("errand", 4, errand.zone_org_id, errand.item.item_code,
                                  f"代办#{errand.id}（跑手{errand.runner.name}）",
                                  f"errand:{errand.id}")
    assert review.rated_at == errand.rated_at and review.phone_masked == errand.phone_masked
    assert db.scalar(select(func.count()).select_from(NegativeCase)) == cases_before
    # a retry of the hand-over and a second rating change nothing
    assert service.to_review(db, errand=errand) == review.id
    with pytest.raises(Conflict):
        service.transition(db, actor=service.REQUESTER, errand=errand,
                           action=ErrandAction.rate, rating=1)
    assert [r.id for r in _errand_reviews(db)] == [review.id] and review.level == 4


def test_a_one_star_rating_opens_a_case_and_tells_the_zones_liaison(db: Session) -> None:
    liaison = make_user(db, role=Role.liaison, org="511902")
    errand = _delivered(db)
    service.transition(db, actor=service.REQUESTER, errand=errand, action=ErrandAction.rate,
                       rating=1)
    [review] = _errand_reviews(db)
    case_ = db.scalars(select(NegativeCase).where(NegativeCase.review_id == review.id)).one()
    assert case_.org_id == errand.zone_org_id and case_.state == "received"
    keys = db.scalars(select(Notification.key).where(
        Notification.recipient_id == liaison.id)).all()
    assert f"review_case:{case_.id}:new" in keys
    service.to_review(db, errand=errand)  # a retry opens no second case
    assert db.scalar(select(func.count()).select_from(NegativeCase)
                     .where(NegativeCase.org_id == errand.zone_org_id,
                            NegativeCase.review_id == review.id)) == 1


def test_no_import_or_public_rating_may_use_the_errand_channel_or_source(db: Session) -> None:
    org = errand_world(db)[0] and service.zone_of(db, lat=31.868, lng=106.748)
    row = {"source": "errand", "source_id": "errand:1", "channel": "window", "org": org.code,
           "level": "5", "rated_at": "2026-03-01 10:00"}
    with pytest.raises(ValidationFailed):
        reviews.submit_batch(db, actor=SYSTEM_ACTOR, rows=[row])
    with pytest.raises(ValidationFailed):
        reviews.submit_batch(db, actor=SYSTEM_ACTOR,
                             rows=[{**row, "source": "feed", "channel": "errand"}])
    assert _errand_reviews(db) == []


def _bj(text: str) -> datetime:
    return datetime.fromisoformat(text + "+08:00").astimezone(UTC)


def test_monthly_metrics_of_a_zone_on_a_hand_example(db: Session) -> None:
    item, _ = errand_world(db)
    zone = service.zone_of(db, lat=31.868, lng=106.748).id
    # (submitted, accepted after minutes, due, done, rating) in March 2026, Beijing time
    rows = [
        ("2026-03-02 09:00", 10, "2026-03-02 12:00", "2026-03-02 11:00", 5),  # answered, on time
        ("2026-03-03 09:00", 45, "2026-03-03 12:00", "2026-03-03 13:00", 2),  # late twice
        ("2026-03-04 09:00", 30, "2026-03-04 12:00", None, None),  # answered; overdue, undone
        ("2026-03-31 23:00", None, None, None, None),  # no SLA, not answered
    ]
    for submitted, minutes, due, done, rating in rows:
        errand = make_errand(db, item=item)
        errand.submitted_at = _bj(submitted)
        errand.accepted_at = errand.submitted_at + timedelta(minutes=minutes) \
            if minutes is not None else None
        errand.due_at = _bj(due) if due else None
        errand.done_at = _bj(done) if done else None
        errand.rating = rating
    april = make_errand(db, item=item)  # 2026-04-01 00:30 Beijing is April's
    april.submitted_at = _bj("2026-04-01 00:30")
    db.flush()
    got = metrics.metrics_by_zone(db, period="2026-03", now=_bj("2026-03-05 09:00"))[zone]
    assert got == {
        "errands": 4, "errands_answered": 2, "errand_answer_rate": 50.0,
        "errands_due": 3, "errands_ontime": 1, "errand_ontime_rate": 33.33,
        "errands_rated": 2, "errand_rating_sum": 7, "errands_satisfied": 1,
        "errand_satisfaction": 3.5, "errand_satisfied_rate": 50.0}
    changed = metrics.record_metrics(db, as_of=date(2026, 4, 10), now=_bj("2026-03-05 09:00"))
    assert changed >= len(got)
    stored = {metric: value for metric, value in db.execute(
        select(MetricValue.metric, MetricValue.value).where(
            MetricValue.period == "2026-03", MetricValue.org_id == zone,
            MetricValue.source == "errand"))}
    assert stored == {name: float(value) for name, value in got.items()}
    assert metrics.record_metrics(db, as_of=date(2026, 4, 10),
                                  now=_bj("2026-03-05 09:00")) == 0  # idempotent


def test_the_requesters_comment_becomes_the_reviews_comment(db: Session) -> None:
    errand = _delivered(db)
    service.transition(db, actor=service.REQUESTER, errand=errand, action=ErrandAction.rate,
                       rating=2, comment="  跑手\n迟到了   两小时 ")
    [review] = _errand_reviews(db)
    assert review.comment == "跑手 迟到了 两小时"


def test_a_comment_over_the_limit_is_refused_and_nothing_changes(db: Session) -> None:
    errand = _delivered(db)
    with pytest.raises(DomainError, match="不超过 500 字"):
        service.transition(db, actor=service.REQUESTER, errand=errand,
                           action=ErrandAction.rate, rating=5, comment="好" * 501)
    assert errand.state == "delivered" and _errand_reviews(db) == []
