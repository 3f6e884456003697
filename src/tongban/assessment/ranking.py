"""Competition ranking (1, 2, 2, 4), grades and the leading group."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from typing import TypeVar

from tongban.assessment.enums import Grade
from tongban.assessment.scheme import Grading, LeadingGroup

K = TypeVar("K", bound=Hashable)


def competition_rank(
    values: Mapping[K, float], *, decimals: int = 2, higher_is_better: bool = True
) -> dict[K, int]:
    """Rank keys by value; equal values at ``decimals`` share the higher place (1, 2, 2, 4)."""
    sign = -1 if higher_is_better else 1
    ordered = sorted(values.items(), key=lambda kv: sign * round(kv[1], decimals))
    ranks: dict[K, int] = {}
    previous: float | None = None
    place = 0
    for position, (key, value) in enumerate(ordered, start=1):
        rounded = round(value, decimals)
        if previous is None or rounded != previous:
            place = position
            previous = rounded
        ranks[key] = place
    return ranks


def grade_of(*, rank: int, total: float, count: int, grading: Grading) -> Grade:
    """好/中/差 by place or by score, as the scheme says; 中 when the scheme sets no grading."""
    if grading.good_min is not None or grading.poor_below is not None:
        if grading.good_min is not None and total >= grading.good_min:
            return Grade.good
        if grading.poor_below is not None and total < grading.poor_below:
            return Grade.poor
        return Grade.fair
    if grading.good_top is not None and rank <= grading.good_top:
        return Grade.good
    if grading.poor_bottom is not None and rank > count - grading.poor_bottom:
        return Grade.poor
    return Grade.fair


def leading_size(*, count: int, leading: LeadingGroup) -> int:
    """How many places the leading group (第一方阵) holds."""
    if leading.top is not None:
        return min(leading.top, count)
    return max(1, math.ceil(count * leading.fraction))
