"""Chinese phrases the reports are written with: dates, rank moves, lists, streaks (numbers are
``core.numbers``)."""

from __future__ import annotations

from datetime import date, datetime

from tongban.core.workdays import local_zone


def day(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def moment(value: datetime) -> str:
    """A moment in Asia/Shanghai as reports write it: 2026年12月1日17:30."""
    local = value.astimezone(local_zone())
    return f"{day(local.date())}{local:%H:%M}"


def month_day(value: date) -> str:
    return f"{value.month}月{value.day}日"


def day_range(start: date, end: date) -> str:
    """``11月16日至22日``, ``11月30日至12月6日``; the year is named when it changes."""
    if start.year != end.year:
        return f"{day(start)}至{day(end)}"
    if start.month != end.month:
        return f"{month_day(start)}至{month_day(end)}"
    return f"{month_day(start)}至{end.day}日"


def rank_move(change: int | None) -> str:
    """A place change as written: 上升3位, 下降13位, 持平; empty when unknown."""
    if change is None:
        return ""
    if change > 0:
        return f"上升{change}位"
    if change < 0:
        return f"下降{-change}位"
    return "持平"


def arrow(change: int | None) -> str:
    """Short form for tables: ↑3, ↓13, —, 新."""
    if change is None:
        return "新"
    if change > 0:
        return f"↑{change}"
    if change < 0:
        return f"↓{-change}"
    return "—"


def listing(names: list[str], limit: int = 5) -> str:
    """``甲、乙、丙``; a long list ends ``等N个``."""
    if len(names) <= limit:
        return "、".join(names)
    return "、".join(names[:limit]) + f"等{len(names)}个"


def streak(grades: list[str]) -> tuple[str, int]:
    """The grade at the end of ``grades`` and how many months it has run."""
    if not grades:
        return "", 0
    last, n = grades[-1], 0
    for grade in reversed(grades):
        if grade != last:
            break
        n += 1
    return last, n
