"""Working days: statutory holidays, make-up days, overrides, unknown years."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy.orm import Session

from tests.factories import actor_of, located
from tongban.core import workdays
from tongban.core.errors import PermissionDenied, ValidationFailed
from tongban.core.listing import ListParams
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.core.workdays import DayKind, UnknownCalendarYear, WorkCalendar


@pytest.fixture
def calendar() -> WorkCalendar:
    return WorkCalendar()


def test_counting_starts_the_next_day_across_national_day(calendar: WorkCalendar) -> None:
    assert calendar.add_workdays(date(2026, 9, 28), 15) == date(2026, 10, 23)


def test_national_day_2026_holidays_and_make_up_days(calendar: WorkCalendar) -> None:
    assert all(not calendar.is_workday(date(2026, 10, d)) for d in range(1, 8))
    assert calendar.is_workday(date(2026, 9, 20))  # Sunday, make-up working day
    assert calendar.is_workday(date(2026, 10, 10))  # Saturday, make-up working day
    assert not calendar.is_workday(date(2026, 10, 11))  # an ordinary Sunday


def test_spring_festival_2026_holidays_and_make_up_days(calendar: WorkCalendar) -> None:
    assert all(not calendar.is_workday(date(2026, 2, d)) for d in range(15, 24))
    assert calendar.is_workday(date(2026, 2, 14))  # Saturday before, works
    assert calendar.is_workday(date(2026, 2, 28))  # Saturday after, works
    # Received Friday 2-13: the 1st working day after is Saturday 2-14 (make-up day),
    # the 2nd is Tuesday 2-24 after the nine-day holiday.
    assert calendar.add_workdays(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert calendar.add_workdays(date(2026, 2, 13), 2) == date(2026, 2, 24)


def test_workdays_between_is_the_inverse_of_add_workdays(calendar: WorkCalendar) -> None:
    start = date(2026, 9, 28)
    for n in (0, 1, 5, 15, 30):
        end = calendar.add_workdays(start, n)
        assert calendar.workdays_between(start, end) == n
    assert calendar.workdays_between(date(2026, 10, 23), date(2026, 9, 28)) == -15


def test_a_year_nobody_knows_is_an_error_naming_the_year(calendar: WorkCalendar) -> None:
    with pytest.raises(UnknownCalendarYear) as excinfo:
        calendar.is_workday(date(2027, 3, 1))
    assert "2027年" in excinfo.value.message
    with pytest.raises(UnknownCalendarYear):
        calendar.add_workdays(date(2026, 12, 28), 10)


def test_override_table_makes_a_new_year_known(db: Session) -> None:
    csv_text = "date,kind,note\n2027-01-01,holiday,元旦\n2027-01-02,holiday,元旦\n2027-01-04,holiday,测试\n"
    changed, unchanged = workdays.import_overrides(
        db, actor=SYSTEM_ACTOR, source=io.BytesIO(csv_text.encode()), filename="2027.csv"
    )
    assert (changed, unchanged) == (3, 0)
    # Weekdays not in the notice work; weekends rest; listed dates follow the notice.
    assert workdays.is_workday(date(2027, 1, 5), db=db)
    assert not workdays.is_workday(date(2027, 1, 4), db=db)
    assert workdays.add_workdays(date(2026, 12, 31), 1, db=db) == date(2027, 1, 5)


def test_reimporting_the_same_notice_changes_nothing(db: Session) -> None:
    csv_text = "date,kind\n2027-02-06,workday\n"
    def notice() -> io.BytesIO:
        return io.BytesIO(csv_text.encode())

    workdays.import_overrides(db, actor=SYSTEM_ACTOR, source=notice(), filename="2027.csv")
    assert workdays.import_overrides(db, actor=SYSTEM_ACTOR, source=notice(),
                                     filename="2027.csv") == (0, 1)


def test_override_corrects_a_known_year(db: Session) -> None:
    workdays.set_override(db, actor=SYSTEM_ACTOR, day=date(2026, 11, 26), kind=DayKind.holiday,
                          note="地方性假日")
    assert not workdays.is_workday(date(2026, 11, 26), db=db)


def test_bad_calendar_file_names_rows_and_columns_and_imports_nothing(db: Session) -> None:
    csv_text = "date,kind\n2027-01-01,holiday\n2027-13-01,holiday\n2027-01-03,rest\n2027-01-01,workday\n"
    with pytest.raises(ValidationFailed) as excinfo:
        workdays.import_overrides(db, actor=SYSTEM_ACTOR, source=io.BytesIO(csv_text.encode()),
                                  filename="bad.csv")
    found = [(row, column) for row, column, _ in located(excinfo.value)]
    assert found == [(3, "date"), (4, "kind"), (5, "date")]
    assert all(group.file == "bad.csv" for group in excinfo.value.errors)
    assert workdays.list_overrides(db, year=2027, params=ListParams()).total == 0


def test_missing_columns_are_reported(db: Session) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        workdays.parse_overrides(io.BytesIO(b"day,type\n2027-01-01,holiday\n"), filename="x.csv")
    assert {e.column for e in excinfo.value.errors} == {"date", "kind"}


def test_only_admins_change_the_calendar(db: Session) -> None:
    analyst = actor_of(db, role=Role.analyst)
    with pytest.raises(PermissionDenied):
        workdays.set_override(db, actor=analyst, day=date(2027, 1, 1), kind=DayKind.holiday)
