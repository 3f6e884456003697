"""Chinese working-day calendar: statutory holidays and make-up working days (调休).

``chinesecalendar`` knows the years the State Council has announced (2004–2026 in 1.11).
Administrators add later years (or correct a known one) in an override table, from the notice
published each November. A date in a year neither knows is an error, never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import Date, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tongban.core import audit
from tongban.core.choices import Choice
from tongban.core.config import get_settings
from tongban.core.db import Base, UTCDateTime, utcnow
from tongban.core.errors import DomainError, ErrorGroups, PermissionDenied, RowError, ValidationFailed
from tongban.core.listing import Listing, ListParams, Page, paginate
from tongban.core.security import Actor, Role
from tongban.core.tabular import cell_text, open_table

audit.name_objects({"workday_override": "工作日调整", "workday_import": "放假通知导入"})


class DayKind(Choice):
    holiday = "holiday", "休息日"
    workday = "workday", "工作日(调休上班)"


class WorkdayOverride(Base):
    """An administrator's ruling on one date: a holiday or a (make-up) working day."""

    __tablename__ = "workday_override"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UnknownCalendarYear(DomainError):
    """No holiday schedule is known for the year of a date."""

    def __init__(self, year: int) -> None:
        super().__init__(
            f"{year}年的法定节假日安排尚未录入，无法计算工作日："
            f"请管理员在「工作日历」页面或用 `tongban calendar import` "
            f"导入国务院办公厅的{year}年放假通知"
        )
        self.year = year


def _library_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@dataclass
class WorkCalendar:
    """The working-day rules in force: the library's calendar plus the override table."""

    overrides: dict[date, DayKind] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._override_years = {d.year for d in self.overrides}
        self._known_years: dict[int, bool] = {}
        self._days: dict[date, bool] = {}  # answers so far: deadlines ask the same days often

    def knows_year(self, year: int) -> bool:
        if year not in self._known_years:
            self._known_years[year] = year in self._override_years or _library_knows(year)
        return self._known_years[year]

    def is_workday(self, day: date) -> bool:
        """Whether ``day`` is a working day (make-up Saturdays included)."""
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = self._is_workday(day)
        return known

    def _is_workday(self, day: date) -> bool:
        kind = self.overrides.get(day)
        if kind is not None:
            return kind is DayKind.workday
        if not self.knows_year(day.year):
            raise UnknownCalendarYear(day.year)
        if day.year in self._override_years and not _library_knows(day.year):
            return day.weekday() < 5
        return bool(chinese_calendar.is_workday(day))

    def add_workdays(self, start: date, n: int) -> date:
        """The n-th working day after ``start``; counting starts the next day.

        ``add_workdays(2026-09-28, 15)`` is 2026-10-23 (National Day and the 10-10 make-up day).
        ``n == 0`` returns ``start`` itself.
        """
        if n < 0:
            raise ValueError("n must not be negative")
        day = start
        remaining = n
        while remaining:
            day += timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def workdays_until(self, start: date, end: date, *, at_most: int) -> int:
        """Working days in (start, end], counting no further than ``at_most`` + 1.

        For "is the due day within N working days?", without consulting years that far away.
        """
        count = 0
        day = start
        while day < end and count <= at_most:
            day += timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return count

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when ``end`` is before ``start``."""
        if end < start:
            return -self.workdays_between(end, start)
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return count


def load_calendar(db: Session) -> WorkCalendar:
    """The calendar with every override from the database."""
    rows = db.execute(select(WorkdayOverride.day, WorkdayOverride.kind)).all()
    return WorkCalendar({row.day: DayKind(row.kind) for row in rows})


def is_workday(day: date, *, db: Session) -> bool:
    return load_calendar(db).is_workday(day)


def add_workdays(start: date, n: int, *, db: Session) -> date:
    return load_calendar(db).add_workdays(start, n)


def workdays_between(start: date, end: date, *, db: Session) -> int:
    return load_calendar(db).workdays_between(start, end)


#: The administrators' rulings as a list: by date.
OVERRIDES = Listing(sorts={"day": ("日期", [WorkdayOverride.day])}, key=WorkdayOverride.day)


def list_overrides(db: Session, *, year: int | None = None,
                   params: ListParams) -> Page[WorkdayOverride]:
    stmt = select(WorkdayOverride)
    if year is not None:
        stmt = stmt.where(
            WorkdayOverride.day >= date(year, 1, 1), WorkdayOverride.day <= date(year, 12, 31)
        )
    return paginate(db, stmt, params=params,
                    order=OVERRIDES.order(params, default=[WorkdayOverride.day]))


@audit.action({"calendar.override_set": "设置工作日调整"})
def set_override(
    db: Session, *, actor: Actor, day: date, kind: DayKind, note: str = ""
) -> WorkdayOverride:
    """Declare one date a holiday or a working day (replacing an earlier ruling)."""
    require_calendar_admin(actor)
    row = db.get(WorkdayOverride, day)
    if row is None:
        changes: dict[str, list[str | None]] = {"kind": [None, kind.value]}
        row = WorkdayOverride(day=day, kind=kind.value, note=note, created_by=actor.username)
        db.add(row)
    elif (row.kind, row.note) == (kind.value, note):
        return row  # the same ruling again: nothing changes
    else:
        changes = {"kind": [row.kind, kind.value]}
        if row.note != note:
            changes["note"] = [row.note, note]
        row.kind, row.note, row.created_by = kind.value, note, actor.username
    db.flush()
    audit.record(db, actor=actor, action="calendar.override_set", object_type="workday_override",
                 object_id=day.isoformat(), changes=changes, reason=note)
    return row


@audit.action({"calendar.override_deleted": "删除工作日调整"})
def delete_override(db: Session, *, actor: Actor, day: date, reason: str = "") -> None:
    require_calendar_admin(actor)
    row = db.get(WorkdayOverride, day)
    if row is None:
        return
    audit.record(
        db,
        actor=actor,
        action="calendar.override_deleted",
        object_type="workday_override",
        object_id=day.isoformat(),
        changes={"kind": [row.kind, None]},
        reason=reason,
    )
    db.delete(row)
    db.flush()


_KIND_WORDS = {
    "holiday": DayKind.holiday,
    "休息": DayKind.holiday,
    "休": DayKind.holiday,
    "放假": DayKind.holiday,
    "workday": DayKind.workday,
    "班": DayKind.workday,
    "上班": DayKind.workday,
    "工作日": DayKind.workday,
}


_COLUMNS = {"date": "date", "kind": "kind", "note": "note", "日期": "date", "类型": "kind",
            "说明": "note", "备注": "note"}


def parse_overrides(source: Path | IO[bytes], *,
                    filename: str | None = None) -> list[tuple[date, DayKind, str]]:
    """Rows of a ``date,kind[,note]`` CSV or XLSX, validated as a whole (errors name row and
    column)."""
    table = open_table(source, filename=filename, aliases=_COLUMNS)
    name = table.filename
    missing = [c for c in ("date", "kind") if c not in table.header]
    if missing:
        raise ValidationFailed(errors=[RowError(1, c, "缺少必需的列", name) for c in missing],
                               summary=f"{name} 不是工作日历文件（需要 date,kind 两列）")
    errors = ErrorGroups(file=name)
    parsed: list[tuple[date, DayKind, str]] = []
    seen: dict[date, int] = {}
    for lineno, row in table.rows:
        text = cell_text(row.get("date"))
        try:
            day = date.fromisoformat(text)
        except ValueError:
            errors.append(RowError(lineno, "date", f"日期「{text}」不是 YYYY-MM-DD 格式"))
            continue
        kind_text = cell_text(row.get("kind"))
        kind = _KIND_WORDS.get(kind_text.lower())
        if kind is None:
            errors.append(RowError(lineno, "kind", f"类型「{kind_text}」无效，应为 holiday 或 workday"))
            continue
        if day in seen:
            errors.append(RowError(lineno, "date", f"日期与第{seen[day]}行重复"))
            continue
        seen[day] = lineno
        parsed.append((day, kind, cell_text(row.get("note"))))
    if errors:
        raise ValidationFailed(errors=errors,
                               summary=f"{name} 有 {errors.count} 处错误，未导入任何记录")
    return parsed


@audit.action({"calendar.imported": "导入工作日历"})
def import_overrides(
    db: Session, *, actor: Actor, source: Path | IO[bytes], filename: str | None = None
) -> tuple[int, int]:
    """Apply a year's notice (all rows or none), audited once for the file and on each day it
    changes. Returns (changed, unchanged)."""
    require_calendar_admin(actor)
    rows = parse_overrides(source, filename=filename)
    name = filename or (source.name if isinstance(source, Path) else "")
    existing = {o.day: o.kind for o in db.scalars(select(WorkdayOverride))}
    changed = 0
    for day, kind, note in rows:
        if existing.get(day) == kind.value:
            continue
        set_override(db, actor=actor, day=day, kind=kind, note=note or f"导入 {name}".strip())
        changed += 1
    audit.record(db, actor=actor, action="calendar.imported", object_type="workday_import",
                 object_id=name[:128] or "-",
                 changes={"changed": changed, "unchanged": len(rows) - changed})
    return changed, len(rows) - changed


def years_known(db: Session, *, around: Iterable[int]) -> dict[int, bool]:
    """For each year, whether deadlines in it can be computed."""
    calendar = load_calendar(db)
    return {y: calendar.knows_year(y) for y in around}


def require_calendar_admin(actor: Actor) -> None:
    """The statutory calendar is kept by system administrators (every change and its page)."""
    if actor.role is not Role.admin:
        raise PermissionDenied("只有系统管理员可以维护工作日历")


def local_zone() -> ZoneInfo:
    """The zone in which days are counted and times are shown (Asia/Shanghai by default)."""
    return ZoneInfo(get_settings().timezone)


def local_today() -> date:
    return datetime.now(local_zone()).date()


def local_date(moment: datetime) -> date:
    """The local calendar day of a timestamp."""
    return moment.astimezone(local_zone()).date()


def end_of_day(day: date) -> datetime:
    """The moment a deadline on ``day`` passes: the end of that day, local time."""
    return datetime.combine(day + timedelta(days=1), time.min, local_zone())
