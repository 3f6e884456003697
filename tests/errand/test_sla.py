"""SLA timers of errands: due times across a lunch break, an evening, a weekend and a holiday
on the working-day calendar; the due time fixed at submission; overdue escalation once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import errand_world, make_errand, make_runner, make_user
from tongban.core.errors import DomainError
from tongban.core.notify import Notification
from tongban.core.security import Role
from tongban.core.workdays import DayKind, WorkCalendar, local_zone
from tongban.errand import jobs, service, sla
from tongban.errand.schemas import errand_read
from tongban.errand.service import requests
from tongban.org.service import actor_for, people_of

HOURS = sla.hall_hours("09:00-12:00,13:30-17:30")


def _bj(text: str) -> datetime:
    """A Beijing wall-clock time."""
    return datetime.fromisoformat(text).replace(tzinfo=local_zone())


def _due(start: str, *, hours: int | None = None, days: int | None = None,
         calendar: WorkCalendar | None = None) -> datetime | None:
    found = sla.due_time(calendar or WorkCalendar(), start=_bj(start).astimezone(UTC),
                         hours=hours, days=days, periods=HOURS)
    assert found is None or found.tzinfo is UTC
    return found.astimezone(local_zone()).replace(tzinfo=None) if found else None


@pytest.mark.parametrize(("start", "hours", "due"), [
    ("2026-03-10 11:00", 2, "2026-03-10 14:30"),  # across the lunch break
    ("2026-03-10 10:00", 2, "2026-03-10 12:00"),  # ends at the break, not after it
    ("2026-03-10 12:30", 1, "2026-03-10 14:30"),  # submitted during the break
    ("2026-03-10 07:00", 1, "2026-03-10 10:00"),  # before opening
    ("2026-03-10 17:00", 2, "2026-03-11 10:30"),  # across an evening
    ("2026-03-10 20:00", 8, "2026-03-12 10:00"),  # a whole working day (7 h) and an hour
    ("2026-03-13 16:30", 3, "2026-03-16 11:00"),  # Friday → Monday across a weekend
    ("2026-09-30 17:00", 1, "2026-10-08 09:30"),  # across National Day (1–7 October)
    ("2026-10-09 17:00", 1, "2026-10-10 09:30"),  # into the make-up Saturday (调休上班)
])
def test_working_hours_run_only_inside_the_halls_hours_on_working_days(
        start: str, hours: int, due: str) -> None:
    assert _due(start, hours=hours) == datetime.fromisoformat(due)


def test_working_days_end_at_the_closing_time_and_skip_holidays() -> None:
    assert _due("2026-09-30 10:00", days=2) == datetime(2026, 10, 9, 17, 30)
    assert _due("2026-03-14 10:00", days=1) == datetime(2026, 3, 16, 17, 30)  # a Saturday


def test_the_calendars_overrides_count() -> None:
    holiday = WorkCalendar({date(2026, 3, 11): DayKind.holiday})
    assert _due("2026-03-10 17:00", hours=2, calendar=holiday) == datetime(2026, 3, 12, 10, 30)
    assert _due("2026-03-10 10:00", days=1, calendar=holiday) == datetime(2026, 3, 12, 17, 30)


def test_no_sla_no_due_time_and_a_bad_setting_is_refused() -> None:
    assert _due("2026-03-10 10:00") is None
    with pytest.raises(DomainError):
        sla.hall_hours("13:30-17:30,09:00-12:00")
    with pytest.raises(DomainError):
        sla.hall_hours("12:00-09:00")


def _at_submission(db: Session, monkeypatch: pytest.MonkeyPatch, moment: str, *,
                   hours: int | None = None, days: int | None = None):  # type: ignore[no-untyped-def]
    item, _ = errand_world(db)
    item.sla_hours, item.sla_days = hours, days
    monkeypatch.setattr(requests, "utcnow", lambda: _bj(moment).astimezone(UTC))
    errand = make_errand(db, item=item)
    monkeypatch.undo()
    return errand


def test_the_due_time_is_fixed_at_submission_and_shown_by_the_api(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    errand = _at_submission(db, monkeypatch, "2026-03-10 11:00", hours=2)
    assert errand.due_at == _bj("2026-03-10 14:30")
    read = errand_read(errand)
    assert read.due_at == _bj("2026-03-10 14:30") and read.overdue  # long past
    days = _at_submission(db, monkeypatch, "2026-09-30 10:00", days=2)
    assert days.due_at == _bj("2026-10-09 17:30")
    assert _at_submission(db, monkeypatch, "2026-03-10 10:00").due_at is None


def test_overdue_errands_are_escalated_once_to_the_zones_liaisons_and_the_runner(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    liaison = make_user(db, role=Role.liaison, org="511902")
    other = make_user(db, role=Role.liaison, org="511921")  # another zone's hears nothing
    late = _at_submission(db, monkeypatch, "2026-03-10 11:00", hours=2)
    runner = make_runner(db)
    service.grab(db, actor=actor_for(runner.user), errand_id=late.id, runner_id=runner.id)
    on_time = make_errand(db, item=late.item)
    on_time.due_at = datetime.now(UTC) + timedelta(hours=1)
    finished = _at_submission(db, monkeypatch, "2026-03-10 11:00", hours=2)
    finished.state = "done"
    db.flush()
    assert jobs.escalate_overdue(db, now=_bj("2026-03-10 14:29").astimezone(UTC)) == 0
    first = jobs.run(db)
    assert first.overdue_escalated == 1
    assert jobs.run(db).overdue_escalated == 0
    sent = db.execute(select(Notification.recipient_id, Notification.key)
                      .where(Notification.key.like("errand:%"))).all()
    liaisons = {u.id for u in people_of(db, org=late.zone, roles={Role.liaison})}
    assert liaison.id in liaisons and other.id not in liaisons
    assert sorted(sent) == sorted((who, f"errand:{late.id}:overdue")
                                  for who in liaisons | {runner.user_id})
