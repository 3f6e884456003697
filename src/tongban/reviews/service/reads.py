"""Reading the ratings: a page of those an actor may see, counts per org between two days, the analyst
dashboard.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from tongban.core.config import get_settings
from tongban.core.listing import Listing, ListParams, Page, paginate
from tongban.core.numbers import rate_with_interval
from tongban.core.security import Actor
from tongban.core.workdays import end_of_day
from tongban.org import service as org_service
from tongban.org.models import Org
from tongban.reviews.models import Review, ReviewCount
from tongban.reviews.service.access import require_reviews_role

#: The ratings as a list: newest first.
REVIEWS = Listing(sorts={"rated_at": ("评价时间", [Review.rated_at]),
                         "level": ("等级", [Review.level])},
                  key=Review.id, dates="评价日期")


def list_reviews(db: Session, *, actor: Actor, org: Org | None = None,
                 period: str | None = None, params: ListParams) -> Page[Review]:
    """A page of the ratings of the orgs the actor may see (of ``org``, of ``period``)."""
    require_reviews_role(actor)
    stmt = select(Review).where(Review.org_id.in_(org_service.visible_org_ids(db, actor=actor)))
    if org is not None:
        stmt = stmt.where(Review.org_id == org.id)
    if period:
        stmt = stmt.where(Review.period == period)
    if params.since:
        stmt = stmt.where(Review.rated_at > end_of_day(params.since - timedelta(days=1)))
    if params.until:
        stmt = stmt.where(Review.rated_at <= end_of_day(params.until))
    return paginate(db, stmt, params=params,
                    order=REVIEWS.order(params, default=[Review.rated_at.desc(), Review.id.desc()]))


def counts_between(db: Session, *, actor: Actor, start: date,
                   end: date) -> dict[int, tuple[int, int]]:
    """Per org the actor sees: reviews rated on local days ``start``…``end`` and how many were
    差评 (voided ones and default ratings left out)."""
    rows = db.execute(select(Review.org_id, func.count(),
                             func.sum(case((Review.level <= 2, 1), else_=0))).where(
        Review.org_id.in_(org_service.visible_org_ids(db, actor=actor)),
        Review.voided.is_(False), Review.is_default.is_(False),
        Review.rated_at > end_of_day(start - timedelta(days=1)),
        Review.rated_at <= end_of_day(end)).group_by(Review.org_id)).all()
    return {org_id: (int(n), int(bad or 0)) for org_id, n, bad in rows}


def tagged_negative_items(db: Session, *, actor: Actor,
                          tags: Sequence[str]) -> dict[str, dict[str, int]]:
    """Per item code, how many 差评 (level 1–2, not voided) of the orgs the actor sees carry
    each of ``tags`` (ratings without an item code left out)."""
    require_reviews_role(actor)
    wanted = [t for t in tags if t]
    if not wanted:
        return {}
    rows = db.execute(select(Review.item_code, Review.tags).where(
        Review.org_id.in_(org_service.visible_org_ids(db, actor=actor)),
        Review.voided.is_(False), Review.level <= 2, Review.item_code != "",
        or_(*(Review.tags.contains(t, autoescape=True) for t in wanted))))
    found: dict[str, Counter[str]] = defaultdict(Counter)
    for code, text in rows:
        carried = set(text.split("、"))
        for tag in wanted:
            if tag in carried:
                found[code][tag] += 1
    return {code: dict(counts) for code, counts in found.items() if counts}


def dashboard(db: Session, *, actor: Actor, items: int = 10) -> dict[str, Any]:
    """Counts for the analyst dashboard: levels per month, 差评率 per org × month, tags, the
    ``items`` service items with the most 差评; default ratings only as their own count per
    month."""
    org_service.require_citywide(actor, "查看全市好差评分析")
    # Counts from the monthly counts (a few rows per org and month; a count an upheld appeal
    # took to 0 stays as a row, and is left out here).
    real = ReviewCount.is_default.is_(False)
    reviews = func.sum(ReviewCount.reviews)
    per_month = db.execute(select(ReviewCount.period, ReviewCount.level, reviews).where(real)
                           .group_by(ReviewCount.period, ReviewCount.level).having(reviews > 0)
                           .order_by(ReviewCount.period)).all()
    per_org = db.execute(select(ReviewCount.org_id, ReviewCount.period, reviews,
                                func.sum(case((ReviewCount.level <= 2, ReviewCount.reviews),
                                              else_=0))).where(real)
                         .group_by(ReviewCount.org_id, ReviewCount.period)
                         .having(reviews > 0)).all()
    # Tags (of the 差评) and items (差评 and all ratings) from one pass over the ratings.
    bad = func.sum(case((Review.level <= 2, 1), else_=0))
    tags: Counter[str] = Counter()
    by_item: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item_code, tag_text, n_bad, n in db.execute(
            select(Review.item_code, Review.tags, bad, func.count())
            .where(Review.voided.is_(False), Review.is_default.is_(False))
            .group_by(Review.item_code, Review.tags)):
        for tag in filter(None, tag_text.split("、")) if n_bad else ():
            tags[tag] += n_bad
        if item_code:
            by_item[item_code][0] += n_bad
            by_item[item_code][1] += n
    worst_items = sorted(((code, b, n) for code, (b, n) in by_item.items() if b),
                         key=lambda row: (-row[1], row[2], row[0]))[:items]
    defaults = db.execute(select(ReviewCount.period, reviews)
                          .where(ReviewCount.is_default.is_(True)).group_by(ReviewCount.period)
                          .having(reviews > 0).order_by(ReviewCount.period)).all()
    names = {org.id: (org.short_name, org.code) for org in db.scalars(
        select(Org).where(Org.id.in_({row[0] for row in per_org})))}
    rates = [OrgMonthRate(names[org_id][0], names[org_id][1], period, int(bad or 0), int(total))
             for org_id, period, total, bad in per_org]
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in rates:
        totals[(r.name, r.code)][0] += r.bad
        totals[(r.name, r.code)][1] += r.total
    # Ranked only on enough ratings: one 差评 out of one rating does not make the worst unit.
    least = get_settings().review_min_sample
    ranked = [(name, bad, n, rate_with_interval(bad, n))
              for (name, _), (bad, n) in totals.items()]
    worst = sorted((row for row in ranked if row[2] >= least),
                   key=lambda row: (-row[1] / row[2], row[0]))[:10]
    thin = sorted(row for row in ranked if row[2] < least and row[1])
    return {"per_month": per_month, "rates": rates, "tags": tags.most_common(),
            "items": worst_items, "defaults": defaults, "worst": worst, "thin": thin,
            "least": least}


@dataclass(frozen=True)
class OrgMonthRate:
    """One org's 差评率 in one month, with its parts."""

    name: str
    code: str
    period: str
    bad: int
    total: int

    @property
    def percent(self) -> float:
        return round(100 * self.bad / self.total, 2) if self.total else 0.0
