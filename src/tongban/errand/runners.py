"""Runner management: suspending a runner (暂停接单) and reinstating it (恢复接单), by hand or by
the automatic rule, with the history in ``errand_runner_suspension``.

- By hand: an administrator or analyst, or a liaison whose org holds the runner's team (the
  team's manager), with a reason; audited.
- Automatically (``jobs run``, as the system): after ``TONGBAN_ERRAND_SUSPEND_BAD_RATINGS``
  差评 (1–2 stars) or ``TONGBAN_ERRAND_SUSPEND_SLA_MISSES`` SLA misses (errands the runner
  held that were not done by their due time) within ``TONGBAN_ERRAND_SUSPEND_WINDOW_DAYS``;
  only events after the runner's last reinstatement count, so a manager's reinstatement is
  not undone by the same old events.

A suspended runner sees no pool and cannot grab or accept (``service.eligibility``); the
errands it already holds stay with it to be finished.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tongban.core import audit
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import Conflict, DomainError, PermissionDenied
from tongban.core.security import SYSTEM_ACTOR, Actor, Role
from tongban.errand.models import Errand, Runner, RunnerSuspension
from tongban.org import service as org_service


def may_manage(db: Session, *, actor: Actor, runner: Runner) -> bool:
    """Whether ``actor`` manages ``runner``'s team (city managers, or a liaison above it)."""
    if actor.can_manage:
        return True
    return actor.role is Role.liaison and org_service.can_see(db, actor=actor, org=runner.team)


def _reason(reason: str) -> str:
    text = " ".join(reason.split())[:300]
    if not text:
        raise DomainError("请写明原因")
    return text


def current(db: Session, *, runner: Runner) -> RunnerSuspension | None:
    """The suspension in force, if any."""
    return db.scalar(select(RunnerSuspension).where(
        RunnerSuspension.runner_id == runner.id, RunnerSuspension.lifted_at.is_(None))
        .order_by(RunnerSuspension.id.desc()).limit(1))


@audit.action({"errand_runner.suspended": "暂停跑手接单"})
def suspend(db: Session, *, actor: Actor, runner: Runner, reason: str,
            automatic: bool = False) -> RunnerSuspension:
    """Suspend ``runner`` with a reason (refused if it already is)."""
    if not may_manage(db, actor=actor, runner=runner):
        raise PermissionDenied("只有跑手所在团队的管理人员可以暂停接单")
    reason = _reason(reason)
    if runner.suspended:
        raise Conflict(f"跑手 #{runner.id} 已暂停接单")
    runner.suspended = True
    record = RunnerSuspension(runner_id=runner.id, reason=reason, automatic=automatic,
                              by=actor.username, at=utcnow())
    db.add(record)
    db.flush()
    audit.record(db, actor=actor, action="errand_runner.suspended", object_type="errand_runner",
                 object_id=runner.id, changes={"suspended": [False, True],
                                               "automatic": automatic}, reason=reason)
    return record


@audit.action({"errand_runner.reinstated": "恢复跑手接单"})
def reinstate(db: Session, *, actor: Actor, runner: Runner, reason: str) -> Runner:
    """Lift ``runner``'s suspension with a reason (refused if it is not suspended)."""
    if not may_manage(db, actor=actor, runner=runner):
        raise PermissionDenied("只有跑手所在团队的管理人员可以恢复接单")
    reason = _reason(reason)
    if not runner.suspended:
        raise Conflict(f"跑手 #{runner.id} 未被暂停")
    runner.suspended = False
    record = current(db, runner=runner)
    if record is not None:
        record.lifted_reason, record.lifted_by, record.lifted_at = \
            reason, actor.username, utcnow()
    db.flush()
    audit.record(db, actor=actor, action="errand_runner.reinstated",
                 object_type="errand_runner", object_id=runner.id,
                 changes={"suspended": [True, False]}, reason=reason)
    return runner


@dataclass(frozen=True)
class Record:
    """A runner's record in the window: 差评 and SLA misses."""

    bad_ratings: int
    sla_misses: int


def record_of(db: Session, *, runner: Runner, now: datetime | None = None) -> Record:
    """The runner's 差评 and SLA misses in the window, since its last reinstatement."""
    now = now or utcnow()
    since = now - timedelta(days=get_settings().errand_suspend_window_days)
    lifted = db.scalar(select(func.max(RunnerSuspension.lifted_at)).where(
        RunnerSuspension.runner_id == runner.id))
    if lifted is not None and lifted > since:
        since = lifted
    bad = db.scalar(select(func.count()).select_from(Errand).where(
        Errand.runner_id == runner.id, Errand.rating <= 2, Errand.rated_at > since)) or 0
    misses = db.scalar(select(func.count()).select_from(Errand).where(
        Errand.runner_id == runner.id, Errand.due_at > since, Errand.due_at <= now,
        Errand.state != "cancelled",
        or_(Errand.done_at.is_(None), Errand.done_at > Errand.due_at))) or 0
    return Record(int(bad), int(misses))


def auto_suspend(db: Session, *, now: datetime | None = None) -> int:
    """Suspend every runner over a rule's threshold (idempotent); how many were suspended."""
    settings = get_settings()
    done = 0
    for runner in db.scalars(select(Runner).where(~Runner.suspended).order_by(Runner.id)):
        found = record_of(db, runner=runner, now=now)
        days = settings.errand_suspend_window_days
        reason = ""
        if settings.errand_suspend_bad_ratings and \
                found.bad_ratings >= settings.errand_suspend_bad_ratings:
            reason = f"{days}天内差评 {found.bad_ratings} 次"
        elif settings.errand_suspend_sla_misses and \
                found.sla_misses >= settings.errand_suspend_sla_misses:
            reason = f"{days}天内超时未办结 {found.sla_misses} 件"
        if reason:
            suspend(db, actor=SYSTEM_ACTOR, runner=runner, reason=f"自动暂停：{reason}",
                    automatic=True)
            done += 1
    return done
