"""The monthly counts of ratings (``ReviewCount``) every metric and the dashboard read."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tongban.reviews.models import ReviewCount


def count_reviews(db: Session, changes: Mapping[tuple[str, int, int, bool], int]) -> None:
    """Add reviews to the monthly counts (negative: take them out), by (period, org id, level,
    is default). Every change to the reviews that count goes through here."""
    rows = [{"period": period, "org_id": org_id, "level": level, "is_default": is_default,
             "reviews": n} for (period, org_id, level, is_default), n in changes.items() if n]
    if not rows:
        return
    upsert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = upsert(ReviewCount)
    db.execute(stmt.on_conflict_do_update(
        index_elements=["period", "org_id", "level", "is_default"],
        set_={"reviews": ReviewCount.reviews + stmt.excluded.reviews}), rows)
