"""Numbers as people read them: scores, explanation figures, counts, table cells and rates."""

from __future__ import annotations

import pytest

from tongban.core import numbers


@pytest.mark.parametrize(("value", "text"), [(2.6, "2.6"), (96.35, "96.35"), (10, "10"), (10.0, "10"),
                                             (9.504, "9.5"), (0.125, "0.12"), (100, "100")])
def test_a_score_has_at_most_two_decimals_and_no_trailing_zeros(value: float, text: str) -> None:
    assert numbers.plain(value) == text


def test_a_score_that_rounds_to_nothing_is_zero_never_minus_zero() -> None:
    assert numbers.plain(-0.001) == "0"
    assert numbers.plain(-0.0) == "0"
    assert numbers.precise(-0.00001) == "0"


def test_a_missing_score_is_a_dash() -> None:
    assert numbers.plain(None) == "—"


def test_whole_places_keep_the_zeros_of_the_integer() -> None:
    assert numbers.plain(10, 0) == "10"
    assert numbers.plain(1000.4, 0) == "1000"


@pytest.mark.parametrize(("value", "text"), [(2.6, "2.6"), (13, "13"), (0.95123, "0.9512"),
                                             (-1.5, "-1.5"), (None, "无")])
def test_an_explanation_figure_has_up_to_four_places(value: float | None, text: str) -> None:
    assert numbers.precise(value) == text


def test_a_count_is_a_whole_number_unless_it_has_a_fraction() -> None:
    assert numbers.count(1234.0) == "1234"
    assert numbers.count(2.5) == "2.5"


def test_table_cells_keep_their_places_and_signs() -> None:
    assert numbers.fixed(96.3) == "96.30"
    assert numbers.signed(2.6) == "+2.60"
    assert numbers.signed(-1.25) == "-1.25"
    assert numbers.percent(0.9823) == "98.2%"
    assert numbers.percent(0.98234, 2) == "98.23%"


def test_a_rate_is_written_with_its_parts() -> None:
    assert numbers.rate_of(1234, 1256) == "98.2%（1234/1256）"
    assert numbers.rate_of(12, 13.0) == "92.3%（12/13）"


def test_a_rate_without_a_denominator_is_a_dash_with_its_parts() -> None:
    assert numbers.rate_of(0, 0) == "—（0/0）"


@pytest.mark.parametrize(("bad", "n", "low", "high"), [
    (1, 1, 0.2065, 1.0), (0, 1, 0.0, 0.7935), (50, 100, 0.4038, 0.5962), (3, 24, 0.0434, 0.3100)])
def test_the_wilson_interval_is_wide_on_a_small_sample(bad: int, n: int, low: float,
                                                      high: float) -> None:
    found = numbers.wilson_interval(bad, n)
    assert found == pytest.approx((low, high), abs=5e-4)


def test_a_rate_says_its_parts_and_its_interval() -> None:
    assert numbers.rate_with_interval(3, 24) == "12.5%（3/24，95%区间 4.3%–31.0%）"
    assert numbers.rate_with_interval(0, 0) == "—（0/0）"
