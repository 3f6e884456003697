"""Runner management: suspend and reinstate with a reason by the team's manager, the automatic
rule (差评 or SLA misses in the window, counted since the last reinstatement), the page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import errand_world, logged_in_client, make_errand, make_runner, make_user
from tongban.core.audit import AuditEntry
from tongban.core.db import utcnow
from tongban.core.errors import Conflict, DomainError, PermissionDenied
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.errand import jobs, runners, service
from tongban.errand.models import Errand
from tongban.org.service import actor_for


def _rated(db: Session, runner, item, rating: int, *, days_ago: float = 1) -> Errand:  # type: ignore[no-untyped-def]
    errand = make_errand(db, item=item)
    errand.runner_id, errand.state, errand.rating = runner.id, "rated", rating
    errand.rated_at = utcnow() - timedelta(days=days_ago)
    errand.due_at = None
    db.flush()
    return errand


def test_the_teams_liaison_suspends_with_a_reason_and_the_runner_leaves_the_pool(
        db: Session) -> None:
    item, _ = errand_world(db)
    runner = make_runner(db)
    errand = make_errand(db, item=item)
    liaison = actor_for(make_user(db, role=Role.liaison, org="511902"))
    with pytest.raises(DomainError, match="原因"):
        runners.suspend(db, actor=liaison, runner=runner, reason="  ")
    runners.suspend(db, actor=liaison, runner=runner, reason="多次迟到")
    assert runner.suspended and "暂停" in service.eligibility(db, runner=runner, errand=errand)
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "errand_runner.suspended"))
    assert entry is not None and entry.reason == "多次迟到"
    with pytest.raises(Conflict):
        runners.suspend(db, actor=liaison, runner=runner, reason="再次")
    runners.reinstate(db, actor=liaison, runner=runner, reason="已约谈")
    assert not runner.suspended and not service.eligibility(db, runner=runner, errand=errand)
    assert runners.current(db, runner=runner) is None


def test_another_countys_liaison_and_runners_cannot_manage(db: Session) -> None:
    errand_world(db)
    runner = make_runner(db)
    for actor in (actor_for(make_user(db, role=Role.liaison, org="511903")),
                  actor_for(make_runner(db).user), actor_for(make_user(db, role=Role.leader))):
        with pytest.raises(PermissionDenied):
            runners.suspend(db, actor=actor, runner=runner, reason="x")
    assert not runner.suspended


def test_k_bad_ratings_in_the_window_suspend_automatically_once(db: Session) -> None:
    item, _ = errand_world(db)
    runner = make_runner(db)
    _rated(db, runner, item, 1)
    _rated(db, runner, item, 2)
    _rated(db, runner, item, 5)
    _rated(db, runner, item, 1, days_ago=40)  # outside the window
    assert runners.auto_suspend(db) == 0
    _rated(db, runner, item, 2)
    assert runners.auto_suspend(db) == 1 and runner.suspended
    assert runners.current(db, runner=runner).reason == "自动暂停：30天内差评 3 次"  # type: ignore[union-attr]
    assert runners.auto_suspend(db) == 0


def test_a_reinstatement_is_not_undone_by_the_same_old_events(db: Session) -> None:
    item, _ = errand_world(db)
    runner = make_runner(db)
    for _ in range(3):
        _rated(db, runner, item, 1)
    jobs.run(db)
    assert runner.suspended
    runners.reinstate(db, actor=SYSTEM_ACTOR, runner=runner, reason="复核后恢复")
    assert jobs.run(db).runners_suspended == 0 and not runner.suspended


def test_sla_misses_count_errands_not_done_by_their_due_time(db: Session) -> None:
    item, _ = errand_world(db)
    runner = make_runner(db)
    now = utcnow()
    for n in range(5):
        errand = make_errand(db, item=item)
        errand.runner_id, errand.state = runner.id, "done"
        errand.due_at = now - timedelta(days=2)
        errand.done_at = now - timedelta(days=1) if n else now - timedelta(days=3)  # first on time
    db.flush()
    assert runners.record_of(db, runner=runner).sla_misses == 4
    assert runners.auto_suspend(db) == 0
    late = make_errand(db, item=item)
    late.runner_id, late.state, late.due_at = runner.id, "at_window", now - timedelta(hours=1)
    db.flush()
    assert runners.auto_suspend(db) == 1


def test_the_runners_page_shows_buttons_only_to_the_teams_managers(db: Session) -> None:
    errand_world(db)
    runner = make_runner(db)
    own = logged_in_client(db, make_user(db, role=Role.liaison, org="511902"))
    page = own.get("/errands/runners")
    assert page.status_code == 200 and f'data-testid="suspend-{runner.id}"' in page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    own.post(f"/errands/runners/{runner.id}/suspend", data={"csrf_token": csrf,
                                                            "reason": "<b>迟到</b>"})
    db.refresh(runner)
    page = own.get("/errands/runners")
    assert runner.suspended and "&lt;b&gt;迟到&lt;/b&gt;" in page.text
    leader = logged_in_client(db, make_user(db, role=Role.leader))
    assert f'data-testid="reinstate-{runner.id}"' not in leader.get("/errands/runners").text
    other = logged_in_client(db, make_user(db, role=Role.liaison, org="511903"))
    other_csrf = other.get("/errands/runners").text.split(
        'name="csrf_token" value="')[1].split('"')[0]
    assert other.post(f"/errands/runners/{runner.id}/reinstate",
                      data={"csrf_token": other_csrf, "reason": "x"}).status_code == 404
    db.refresh(runner)
    assert runner.suspended
