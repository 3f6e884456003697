"""The 跑团代办 metrics of each zone (an org) and month, with numerators and denominators,
written to the assessment through its service (from ``jobs run``).

An errand counts in the month of its submission (Beijing time):

- ``errands``: submitted; ``errands_answered``: accepted within ``TONGBAN_ERRAND_ANSWER_MINUTES``
  of submission; ``errand_answer_rate`` = answered ÷ submitted × 100;
- ``errands_due``: with an SLA, not cancelled, and done or past its due time;
  ``errands_ontime``: done (办结) by its due time; ``errand_ontime_rate`` = on time ÷ due × 100;
- ``errands_rated``, ``errand_rating_sum``, ``errands_satisfied`` (4 or 5 stars);
  ``errand_satisfaction`` = the mean rating (1–5), ``errand_satisfied_rate`` = satisfied ÷
  rated × 100.

A rate is written only where its denominator is not 0.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.assessment import service as assessment
from tongban.assessment.metrics import amount_of, count_of, declare
from tongban.assessment.service import MetricInput
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.periods import first_day, month_of, next_period, previous_period
from tongban.core.security import SYSTEM_ACTOR
from tongban.core.workdays import local_zone
from tongban.errand.enums import ErrandState
from tongban.errand.models import Errand

OWNER = "errand"

METRICS = declare(
    OWNER,
    count_of("errands", "代办提交数", "件"),
    count_of("errands_answered", "及时接单数", "件", "提交后规定分钟内被接单的"),
    count_of("errands_due", "到期代办数", "件", "有时限、未取消、已办结或已过时限的"),
    count_of("errands_ontime", "按时办结代办数", "件"),
    count_of("errands_rated", "已评价代办数", "件"),
    amount_of("errand_rating_sum", "代办评价星级合计", "星"),
    count_of("errands_satisfied", "满意代办数", "件", "4星及以上"),
    amount_of("errand_answer_rate", "代办及时接单率", "%", "及时接单 ÷ 提交 × 100"),
    amount_of("errand_ontime_rate", "代办按时办结率", "%", "按时办结 ÷ 到期 × 100"),
    amount_of("errand_satisfaction", "代办平均星级", "星"),
    amount_of("errand_satisfied_rate", "代办满意率", "%", "满意 ÷ 已评价 × 100"),
    count_of("postal_outlets", "邮政网点数", "个"),
    count_of("postal_outlets_upgraded", "已升级邮政网点数", "个"),
    amount_of("postal_coverage_rate", "邮政网点覆盖率", "%", "已升级 ÷ 网点 × 100"),
    count_of("postal_departments", "邮政可办部门数", "个"),
    count_of("postal_items", "邮政可办事项数", "项"),
)
COUNTS = tuple(METRICS[c].code for c in (
    "errands", "errands_answered", "errands_due", "errands_ontime", "errands_rated",
    "errand_rating_sum", "errands_satisfied"))


def _start(period: str) -> datetime:
    return datetime.combine(first_day(period), time(0), tzinfo=local_zone())


def metrics_by_zone(db: Session, *, period: str,
                    now: datetime | None = None) -> dict[int, dict[str, float]]:
    """Each zone's counts and rates for the errands submitted in ``period``."""
    return figures_by_zone(db, since=_start(period), until=_start(next_period(period)), now=now)


def figures_by_zone(db: Session, *, since: datetime, until: datetime,
                    now: datetime | None = None) -> dict[int, dict[str, float]]:
    """Each zone's counts and rates for the errands submitted in [since, until)."""
    now = now or utcnow()
    answer = timedelta(minutes=get_settings().errand_answer_minutes)
    rows = db.execute(select(
        Errand.zone_org_id, Errand.state, Errand.submitted_at, Errand.accepted_at,
        Errand.done_at, Errand.due_at, Errand.rating).where(
        Errand.submitted_at >= since, Errand.submitted_at < until))
    found: dict[int, dict[str, float]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0.0))
    for zone, state, submitted, accepted, done, due, rating in rows:
        m = found[zone]
        m["errands"] += 1
        if accepted is not None and accepted - submitted <= answer:
            m["errands_answered"] += 1
        if due is not None and state != ErrandState.cancelled.value \
                and (done is not None or due <= now):
            m["errands_due"] += 1
            m["errands_ontime"] += done is not None and done <= due
        if rating is not None:
            m["errands_rated"] += 1
            m["errand_rating_sum"] += rating
            m["errands_satisfied"] += rating >= 4
    for m in found.values():
        if m["errands"]:
            m["errand_answer_rate"] = round(100 * m["errands_answered"] / m["errands"], 2)
        if m["errands_due"]:
            m["errand_ontime_rate"] = round(100 * m["errands_ontime"] / m["errands_due"], 2)
        if m["errands_rated"]:
            m["errand_satisfaction"] = round(m["errand_rating_sum"] / m["errands_rated"], 2)
            m["errand_satisfied_rate"] = round(
                100 * m["errands_satisfied"] / m["errands_rated"], 2)
    return dict(found)


def record_metrics(db: Session, *, as_of: date, now: datetime | None = None) -> int:
    """Write last month's and this month's metrics of every zone (idempotent: the same
    values again change nothing); how many values were new or changed."""
    this_month = month_of(as_of)
    values = [MetricInput(period, zone, name, float(value))
              for period in (previous_period(this_month), this_month)
              for zone, numbers in metrics_by_zone(db, period=period, now=now).items()
              for name, value in numbers.items()]
    return assessment.record_metric_values(db, actor=SYSTEM_ACTOR, values=values,
                                           source=OWNER)
