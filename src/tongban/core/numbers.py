"""Numbers as people read them: scores, counts and rates, written the same on every page, in
every report and in every explanation."""

from __future__ import annotations

import math
from collections.abc import Sequence


def plain(value: float | None, places: int = 2, *, missing: str = "—") -> str:
    """A score as people write it: at most ``places`` decimals, no trailing zeros, never ``-0``
    (9.5, 10, 96.35); ``missing`` for None."""
    if value is None:
        return missing
    text = f"{value:.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def precise(value: float | None) -> str:
    """A number in an explanation or a what-if, to 4 places at most (2.6, 13, 0.9512); ``无``
    when there is none."""
    return plain(value, 4, missing="无")


def count(value: float) -> str:
    """A count: a whole number as such (1234), anything else as a score."""
    return str(int(value)) if float(value).is_integer() else plain(value)


def time_limit(value: float) -> str:
    """A time limit in working days as an office writes it: 0 is 即办, else 3个工作日."""
    return "即办" if value == 0 else f"{count(value)}个工作日"


def fixed(value: float, places: int = 2) -> str:
    """A score in a table column: always ``places`` decimals (96.30)."""
    return f"{value:.{places}f}"


def signed(value: float, places: int = 2) -> str:
    """A change or an adjustment with its sign: +2.60, -1.25."""
    return f"{value:+.{places}f}"


def percent(fraction: float, places: int = 1) -> str:
    """A fraction as a percentage: 0.982 → 98.2%."""
    return f"{fraction:.{places}%}"


def rate_of(numerator: float, denominator: float) -> str:
    """A rate with its parts, ``98.2%（1234/1256）``; ``—（0/0）`` when there is nothing."""
    if not denominator:
        return f"—（{count(numerator)}/0）"
    return f"{numerator / denominator * 100:.1f}%（{count(numerator)}/{count(denominator)}）"


def wilson_interval(successes: float, n: float, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default): honest for small samples,
    where 1 bad rating out of 1 is "0%–79%", not "100%"; (0, 1) when there is no sample."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denominator = 1 + z * z / n
    return max(0.0, (centre - margin) / denominator), min(1.0, (centre + margin) / denominator)


def rate_with_interval(numerator: float, denominator: float) -> str:
    """A rate, its parts and its 95% interval: ``12.5%（3/24，95%区间 4.3%–31.0%）``."""
    if not denominator:
        return rate_of(numerator, denominator)
    low, high = wilson_interval(numerator, denominator)
    return (f"{numerator / denominator * 100:.1f}%（{count(numerator)}/{count(denominator)}，"
            f"95%区间 {low * 100:.1f}%–{high * 100:.1f}%）")


def gini(values: Sequence[float]) -> float:
    """The Gini coefficient of non-negative values: 0 when all are equal, towards 1 when one
    holds everything (0 for none or all zero)."""
    ordered = sorted(float(v) for v in values)
    total = sum(ordered)
    if not ordered or total == 0:
        return 0.0
    n = len(ordered)
    weighted = sum(rank * v for rank, v in enumerate(ordered, 1))
    return 2 * weighted / (n * total) - (n + 1) / n
