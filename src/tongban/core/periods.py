"""Periods: YYYY-MM months, and the quarters (2026Q1) and weeks the reports derive from them.

Every month, quarter and week the platform reads, writes or labels goes through here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from tongban.core.errors import DomainError

PERIOD_RE = re.compile(r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$")  # 1900-01 … 2999-12
QUARTER_RE = re.compile(r"^([0-9]{4})Q([1-4])$")


def is_period(text: str) -> bool:
    """Whether ``text`` is a YYYY-MM month."""
    return PERIOD_RE.match(text or "") is not None


def check_period(period: str) -> str:
    """``period`` if it is a YYYY-MM month, else a clear error."""
    if not is_period(period):
        raise DomainError(f"考核期「{period}」不是 YYYY-MM 格式的月份，如 2026-02")
    return period


def period_of(year: int, month: int) -> str:
    """The period of a year and month (1–12): ``2026-03``."""
    return f"{year:04d}-{month:02d}"


def month_of(day: date) -> str:
    """The period a calendar day falls in (for a timestamp, pass its local day)."""
    return period_of(day.year, day.month)


def shift(period: str, months: int) -> str:
    """The period ``months`` after ``period`` (before it when negative)."""
    index = int(period[:4]) * 12 + int(period[5:]) - 1 + months
    return period_of(index // 12, index % 12 + 1)


def previous_period(period: str) -> str:
    return shift(period, -1)


def next_period(period: str) -> str:
    return shift(period, 1)


def first_day(period: str) -> date:
    return date(int(period[:4]), int(period[5:]), 1)


def period_label(period: str) -> str:
    """``2026-03`` → ``2026年3月``."""
    return f"{period[:4]}年{int(period[5:])}月"


def month_label(period: str) -> str:
    """``2026-03`` → ``3月`` (where the year is plain from the context)."""
    return f"{int(period[5:])}月"


def quarter_of(period: str) -> str:
    """The quarter key of a month: ``2026-05`` → ``2026Q2``."""
    return f"{period[:4]}Q{(int(period[5:]) - 1) // 3 + 1}"


def quarter_months(quarter: str) -> list[str]:
    """The three periods of a quarter key, or a clear error."""
    found = QUARTER_RE.match(quarter or "")
    if not found:
        raise DomainError(f"季度「{quarter}」应写作 YYYYQn，如 2026Q1")
    year, q = int(found[1]), int(found[2])
    return [period_of(year, m) for m in range(3 * q - 2, 3 * q + 1)]


def quarter_label(quarter: str) -> str:
    """``2026Q1`` → ``2026年第一季度``."""
    return f"{quarter[:4]}年第{'一二三四'[int(quarter[-1]) - 1]}季度"


@dataclass(frozen=True)
class Week:
    """The seven days before ``as_of`` (Monday to Sunday when ``as_of`` is a Monday), named by
    the ISO week of its first day."""

    as_of: date

    @property
    def end(self) -> date:
        return self.as_of - timedelta(days=1)

    @property
    def start(self) -> date:
        return self.end - timedelta(days=6)

    @property
    def key(self) -> str:
        """``2026-W12``."""
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def label(self) -> str:
        """``2026年第12周``."""
        year, week, _ = self.start.isocalendar()
        return f"{year}年第{week}周"

    def holds(self, value: date) -> bool:
        return self.start <= value <= self.end
