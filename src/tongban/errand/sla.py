"""SLA timers of errands: the due time from a submission, in working hours inside the halls'
opening hours on working days (``TONGBAN_ERRAND_HALL_HOURS``), or in working days (due at
the day's closing time; the day of submission is not counted)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from tongban.core.errors import DomainError
from tongban.core.workdays import WorkCalendar, local_zone

#: Opening periods of a working day, in order: (opens, closes).
Hours = list[tuple[time, time]]


def hall_hours(setting: str) -> Hours:
    """``"09:00-12:00,13:30-17:30"`` → the periods; refused unless ordered and apart."""
    periods: Hours = []
    for part in (p.strip() for p in setting.split(",") if p.strip()):
        try:
            start, end = (time.fromisoformat(t.strip().zfill(5)) for t in part.split("-"))
        except ValueError as exc:
            raise DomainError(f"办理时段「{part}」应为 HH:MM-HH:MM") from exc
        if start >= end or (periods and start < periods[-1][1]):
            raise DomainError(f"办理时段「{part}」须在前一时段之后且开始早于结束")
        periods.append((start, end))
    if not periods:
        raise DomainError("未设置大厅办理时段")
    return periods


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=local_zone())


def due_time(calendar: WorkCalendar, *, start: datetime, hours: int | None = None,
             days: int | None = None, periods: Hours) -> datetime | None:
    """When an SLA that starts at ``start`` runs out (UTC); None without one. Hours count only
    inside ``periods`` of working days; raises ``UnknownCalendarYear`` past the known years."""
    local = start.astimezone(local_zone())
    if hours:
        left = timedelta(hours=hours)
        day = local.date()
        while True:
            if calendar.is_workday(day):
                for opens, closes in periods:
                    begin, end = max(_at(day, opens), local), _at(day, closes)
                    if begin >= end:
                        continue
                    if end - begin >= left:
                        return (begin + left).astimezone(UTC)
                    left -= end - begin
            day += timedelta(days=1)
    if days:
        return _at(calendar.add_workdays(local.date(), days), periods[-1][1]) \
            .astimezone(UTC)
    return None
