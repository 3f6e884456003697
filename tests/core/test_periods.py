"""Periods: YYYY-MM months, their labels and neighbours, quarters and report weeks."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tongban.core import periods
from tongban.core.errors import DomainError
from tongban.core.periods import Week


@pytest.mark.parametrize("text", ["2026-01", "2026-12", "1999-09"])
def test_a_period_is_a_four_digit_year_and_a_two_digit_month(text: str) -> None:
    assert periods.is_period(text)
    assert periods.check_period(text) == text


@pytest.mark.parametrize("text", ["", "2026-1", "2026-13", "2026-00", "26-01", "2026/01", "2026-01 "])
def test_anything_else_is_refused_in_chinese_with_an_example(text: str) -> None:
    assert not periods.is_period(text)
    with pytest.raises(DomainError, match=f"考核期「{text}」不是 YYYY-MM 格式的月份，如 2026-02"):
        periods.check_period(text)


def test_the_month_before_january_is_december_of_the_year_before() -> None:
    assert periods.previous_period("2026-01") == "2025-12"
    assert periods.previous_period("2026-03") == "2026-02"


def test_the_month_after_december_is_january_of_the_next_year() -> None:
    assert periods.next_period("2025-12") == "2026-01"
    assert periods.next_period("2026-02") == "2026-03"


def test_shift_moves_by_whole_years_and_back() -> None:
    assert periods.shift("2026-03", 14) == "2027-05"
    assert periods.shift("2026-03", -27) == "2023-12"
    assert periods.shift("2026-03", 0) == "2026-03"


def test_a_day_and_a_timestamp_fall_in_their_calendar_month() -> None:
    assert periods.month_of(date(2026, 3, 31)) == "2026-03"
    assert periods.month_of(datetime(2026, 12, 1, 23, 59)) == "2026-12"
    assert periods.first_day("2026-02") == date(2026, 2, 1)


def test_labels_name_the_month_without_a_leading_zero() -> None:
    assert periods.period_label("2026-03") == "2026年3月"
    assert periods.period_label("2026-11") == "2026年11月"
    assert periods.month_label("2026-03") == "3月"


@pytest.mark.parametrize(("period", "quarter"), [("2026-01", "2026Q1"), ("2026-03", "2026Q1"),
                                                 ("2026-04", "2026Q2"), ("2026-12", "2026Q4")])
def test_every_month_belongs_to_its_quarter(period: str, quarter: str) -> None:
    assert periods.quarter_of(period) == quarter
    assert period in periods.quarter_months(quarter)


def test_a_quarter_has_its_three_months_and_a_chinese_name() -> None:
    assert periods.quarter_months("2026Q2") == ["2026-04", "2026-05", "2026-06"]
    assert periods.quarter_label("2026Q4") == "2026年第四季度"


@pytest.mark.parametrize("text", ["2026Q5", "2026q1", "26Q1", ""])
def test_a_malformed_quarter_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(DomainError, match="应写作 YYYYQn，如 2026Q1"):
        periods.quarter_months(text)


def test_a_report_week_is_the_seven_days_before_its_date() -> None:
    week = Week(date(2026, 3, 16))  # a Monday
    assert (week.start, week.end) == (date(2026, 3, 9), date(2026, 3, 15))
    assert week.holds(date(2026, 3, 9)) and week.holds(date(2026, 3, 15))
    assert not week.holds(date(2026, 3, 16))


def test_a_week_is_named_by_the_iso_week_of_its_first_day() -> None:
    week = Week(date(2026, 1, 5))  # Monday 29 December 2025 to Sunday 4 January 2026
    assert week.key == "2026-W01"
    assert week.label == "2026年第1周"
    assert Week(date(2026, 3, 16)).key == "2026-W11"
