"""Review metrics: an org's month (each rate with its parts), every org's at once, and writing
them as the assessment metric values this feeder declares (``reviews.metrics``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.assessment import service as assessment
from tongban.assessment.service import MetricInput
from tongban.core.periods import check_period, first_day, next_period
from tongban.core.security import SYSTEM_ACTOR, Actor
from tongban.core.workdays import local_today
from tongban.org import service as org_service
from tongban.org.models import Org
from tongban.reviews.enums import Level
from tongban.reviews.metrics import METRICS as M
from tongban.reviews.metrics import OWNER
from tongban.reviews.models import HandledCount, NegativeCase, ReviewCount
from tongban.reviews.service.access import require_reviews_role


def _rate(numerator: float, denominator: float) -> dict[str, float | None]:
    return {"value": round(numerator / denominator, 4) if denominator else None,
            "numerator": numerator, "denominator": denominator}


def metrics(db: Session, *, actor: Actor, org: Org, period: str,
            as_of: date | None = None) -> dict[str, Any]:
    """The month's review metrics of an org, each rate with its parts."""
    require_reviews_role(actor)
    org_service.ensure_visible(db, actor=actor, org=org)
    check_period(period)
    return metrics_by_org(db, period=period, as_of=as_of or local_today(),
                          org_ids=[org.id])[org.id]


@dataclass
class _Counts:
    """What one org's metrics are computed from."""

    by_level: dict[int, int] = field(default_factory=dict)
    defaults: int = 0
    due: int = 0
    ontime: int = 0
    named_due: int = 0
    named_called: int = 0
    upheld: int = 0
    cases_handled: float = 0.0


def metrics_by_org(db: Session, *, period: str, as_of: date,
                   org_ids: list[int] | None = None) -> dict[int, dict[str, Any]]:
    """Every org's metrics for ``period`` (or only ``org_ids``'): ratings by org and level
    from the monthly counts (``ReviewCount``), the month's 差评 cases as plain rows."""
    counts: dict[int, _Counts] = defaultdict(_Counts)
    if org_ids is not None:
        counts.update({org_id: _Counts() for org_id in org_ids})  # asked for: even with none
    counted = [ReviewCount.period == period]
    if org_ids is not None:
        counted.append(ReviewCount.org_id.in_(org_ids))
    for org_id, level, is_default, n in db.execute(
            select(ReviewCount.org_id, ReviewCount.level, ReviewCount.is_default,
                   ReviewCount.reviews).where(*counted)):
        if is_default:
            counts[org_id].defaults += n
        else:
            counts[org_id].by_level[level] = counts[org_id].by_level.get(level, 0) + n
    # The month's cases, plain rows, not a join over the month's millions of reviews: appeals
    # upheld by the month the case was received (the review's own month); 差评按期整改 and
    # 实名回访 by the month their deadline falls (到期应整改: due by ``as_of``, or answered
    # before it), an upheld appeal voiding its review.
    received = _month(NegativeCase.received_on, period)
    rectify = _month(NegativeCase.rectify_due, period)
    callback = _month(NegativeCase.callback_due, period)
    scope = [NegativeCase.org_id.in_(org_ids)] if org_ids is not None else []
    counted_case = NegativeCase.appeal_upheld.is_not(True)
    named = counted_case & NegativeCase.named
    for org_id, upheld, due, ontime, named_due, named_called in db.execute(
            select(NegativeCase.org_id,
                   func.count().filter(received & NegativeCase.appeal_upheld.is_(True)),
                   func.count().filter(rectify & counted_case & (
                       (NegativeCase.rectify_due < as_of) | NegativeCase.replied_at.is_not(None))),
                   func.count().filter(rectify & counted_case & NegativeCase.replied_on_time),
                   func.count().filter(callback & named & (
                       (NegativeCase.callback_due < as_of)
                       | NegativeCase.called_back_at.is_not(None))),
                   func.count().filter(callback & named & NegativeCase.called_back_on_time))
            .where(received | rectify | callback, *scope).group_by(NegativeCase.org_id)):
        c = counts[org_id]
        c.upheld, c.due, c.ontime, c.named_due, c.named_called = (
            upheld, due, ontime, named_due, named_called)
    handled = [HandledCount.period == period]
    if org_ids is not None:
        handled.append(HandledCount.org_id.in_(org_ids))
    for org_id, cases in db.execute(select(HandledCount.org_id, HandledCount.cases)
                                    .where(*handled)):
        counts[org_id].cases_handled = float(cases)
    return {org_id: _metrics_of(period, c) for org_id, c in counts.items()}


def _month(column: Any, period: str) -> Any:
    """``column`` (a day) falls in ``period``."""
    return (column >= first_day(period)) & (column < first_day(next_period(period)))


def _metrics_of(period: str, c: _Counts) -> dict[str, Any]:
    by_level = c.by_level
    total = sum(by_level.values())
    good = by_level.get(4, 0) + by_level.get(5, 0)
    bad = by_level.get(1, 0) + by_level.get(2, 0)
    level_sum = sum(level * n for level, n in by_level.items())
    score_sum = sum(Level(level).score * n for level, n in by_level.items())
    return {
        "period": period,
        "reviews": total,
        "by_level": {str(level): by_level.get(level, 0) for level in range(1, 6)},
        "good_rate": _rate(good, total),
        "bad_rate": _rate(bad, total),
        "satisfaction": {"value": round((level_sum / total - 1) / 4, 4) if total else None,
                         "numerator": round(level_sum / total - 1, 4) if total else 0,
                         "denominator": 4, "reviews": total},
        "score": {"value": round(score_sum / total, 2) if total else None,
                  "numerator": score_sum, "denominator": total},
        "review_rate": _rate(total, c.cases_handled),
        "ontime_rectification_rate": _rate(c.ontime, c.due),
        "named_callback_rate": _rate(c.named_called, c.named_due),
        "appeals_upheld": c.upheld,
        "default_ratings": c.defaults,
    }


def record_metrics(db: Session, *, period: str, as_of: date) -> int:
    """Write every org's review metrics for ``period`` as assessment metric values."""
    values: list[MetricInput] = []
    for org_id, m in metrics_by_org(db, period=period, as_of=as_of).items():
        numbers = {
            M["reviews"]: m["reviews"], M["good_reviews"]: m["good_rate"]["numerator"],
            M["bad_reviews"]: m["bad_rate"]["numerator"],
            M["ontime_rectified"]: m["ontime_rectification_rate"]["numerator"],
            M["bad_cases_due"]: m["ontime_rectification_rate"]["denominator"],
            M["named_bad_due"]: m["named_callback_rate"]["denominator"],
            M["named_called_back"]: m["named_callback_rate"]["numerator"],
            M["appeals_upheld"]: m["appeals_upheld"], M["default_ratings"]: m["default_ratings"],
            M["cases_handled"]: m["review_rate"]["denominator"],
            **{M[f"level_{k}"]: v for k, v in m["by_level"].items()},
        }
        if m["satisfaction"]["value"] is not None:
            numbers[M["satisfaction_index"]] = m["satisfaction"]["value"]
            numbers[M["review_score"]] = m["score"]["value"]
        values += [MetricInput(period, org_id, metric.code, float(v))
                   for metric, v in numbers.items()]
    return assessment.record_metric_values(db, actor=SYSTEM_ACTOR, values=values, source=OWNER)
