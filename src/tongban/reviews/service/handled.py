"""Handled cases (办件): importing their records, and the default rating of a case nobody rated."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, insert, select
from sqlalchemy.orm import Session

from tongban.core import audit
from tongban.core.config import get_settings
from tongban.core.db import one_of, utcnow
from tongban.core.errors import DomainError, ErrorGroups, RowError, ValidationFailed
from tongban.core.periods import check_period, month_of
from tongban.core.security import SYSTEM_ACTOR, Actor
from tongban.core.tabular import Cell, cell_number, cell_text
from tongban.core.workdays import end_of_day, local_date, local_today
from tongban.org import service as org_service
from tongban.reviews.models import HandledCase, HandledCount, Review
from tongban.reviews.service.checks import CLOCK_SLACK, Checker, rated_at
from tongban.reviews.service.counts import count_reviews
from tongban.reviews.service.rates import record_metrics

HANDLED_ALIASES = {"单位": "org", "办理单位": "org", "办件编号": "case_no", "事项编码": "item_code",
                   "办结时间": "completed_at", "渠道": "channel", "申办渠道": "channel"}


@dataclass
class HandledImport:
    imported: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"imported": self.imported, "skipped": self.skipped, "errors": []}


@audit.action({"handled_cases.imported": "导入办件"})
def import_handled_cases(db: Session, *, actor: Actor, rows: Iterable[tuple[int, dict[str, Cell]]],
                         filename: str) -> HandledImport:
    """Case records ``org,case_no,completed_at[,item_code,channel]``, all or nothing; a case
    already recorded for the org is skipped, so importing the same export twice adds nothing."""
    org_service.require_manager(actor, "导入办件明细")
    ctx = Checker(db)
    errors = ErrorGroups(file=filename)
    parsed: dict[tuple[int, str], dict[str, Any]] = {}
    for row, values in rows:
        org_ref, case_no = cell_text(values.get("org")), cell_text(values.get("case_no"))
        org = ctx.org(org_ref) if org_ref else "缺少办理单位"
        if isinstance(org, str):
            errors.append(RowError(row, "org", org, filename))
        if not case_no:
            errors.append(RowError(row, "case_no", "缺少办件编号", filename))
        channel_text = cell_text(values.get("channel")) or "网站"
        channel, _ = ctx.channel(channel_text)
        if channel is None:
            errors.append(RowError(row, "channel", f"未知的申办渠道「{channel_text}」", filename))
        completed = rated_at(values.get("completed_at"))
        if completed is None:
            errors.append(RowError(row, "completed_at", f"办结时间「{cell_text(values.get('completed_at'))}」"
                                                        "应为 YYYY-MM-DD HH:MM[:SS]", filename))
        elif completed > ctx.now + CLOCK_SLACK:
            errors.append(RowError(row, "completed_at", "办结时间晚于当前时间", filename))
        if isinstance(org, str) or not case_no or channel is None or completed is None:
            continue
        if (org.id, case_no) in parsed:
            errors.append(RowError(row, "case_no", f"办件编号 {case_no} 在文件中重复", filename))
            continue
        parsed[(org.id, case_no)] = {
            "org_id": org.id, "case_no": case_no, "item_code": cell_text(values.get("item_code")),
            "channel": channel.value, "completed_at": completed, "source": f"import:{filename}"[:200],
            "created_at": ctx.now}
    if errors:
        raise ValidationFailed(errors=errors,
                               summary=f"{filename} 有 {errors.count} 处错误，未导入任何办件")
    known = {(org_id, case_no) for org_id, case_no in db.execute(
        select(HandledCase.org_id, HandledCase.case_no).where(
            one_of(db, HandledCase.case_no, [k[1] for k in parsed])))} if parsed else set()
    fresh = [v for k, v in parsed.items() if k not in known]
    if fresh:
        db.execute(insert(cast(Table, HandledCase.__table__)), fresh)
    result = HandledImport(imported=len(fresh), skipped=len(parsed) - len(fresh))
    audit.record(db, actor=actor, action="handled_cases.imported", object_type="handled_case",
                 object_id=filename[:128], changes=result.as_dict())
    return result


@audit.action({"reviews.defaulted": "生成默认好评"})
def apply_default_ratings(db: Session, *, as_of: date) -> int:
    """When the policy is on: a level-5 rating, marked as a default, for every case finished
    ``review_default_rating_days`` days before ``as_of`` (or earlier) that nobody rated.

    Rated means any real rating of the org with the same case number. A case gets its default
    once; the metrics count defaults apart and leave them out of every rate.
    """
    days = get_settings().review_default_rating_days
    if days <= 0:
        return 0
    deadline = end_of_day(as_of - timedelta(days=days))
    # An anti-join, not NOT EXISTS: review has no index on the case number (every import
    # would pay for one), and in this form SQLite builds one for the query where NOT EXISTS
    # scanned every review once per case; PostgreSQL hashes either form.
    rating = and_(Review.org_id == HandledCase.org_id, Review.case_no == HandledCase.case_no,
                  Review.is_default.is_(False))
    unrated = list(db.scalars(select(HandledCase).outerjoin(Review, rating).where(
        HandledCase.default_review_id.is_(None), HandledCase.completed_at <= deadline,
        Review.id.is_(None))))
    now = utcnow()
    given = []
    for handled in unrated:
        local_day = local_date(handled.completed_at) + timedelta(days=days)
        given.append(Review(
            source="default", source_id=f"handled:{handled.id}", channel=handled.channel,
            org_id=handled.org_id, item_code=handled.item_code, case_no=handled.case_no, level=5,
            tags="", comment=f"办结后{days}日内未评价，按非常满意计（默认评价）", named=False,
            phone_cipher="", phone_masked="",
            rated_at=end_of_day(local_day) - timedelta(seconds=1),  # the last second of that day
            period=month_of(local_day), dedup_key=None, is_default=True, voided=False,
            created_at=now))
    db.add_all(given)
    db.flush()  # one flush for all: the ids link each case to its default
    count_reviews(db, Counter((r.period, r.org_id, r.level, True) for r in given))
    for handled, review in zip(unrated, given, strict=True):
        handled.default_review_id = review.id
    if unrated:
        audit.record(db, actor=SYSTEM_ACTOR, action="reviews.defaulted", object_type="review",
                     object_id=f"{as_of}", changes={"defaults": len(unrated), "days": days})
    return len(unrated)


def record_cases_handled(db: Session, *, actor: Actor, rows: Iterable[tuple[int, dict[str, Cell]]],
                         filename: str) -> int:
    """``period,org,cases_handled`` rows (the denominator of 主动评价率), all or nothing: kept
    as the orgs' monthly handled counts, then written to the assessment with the months'
    other review metrics. Returns how many counts were new or changed."""
    org_service.require_manager(actor, "导入办件量")
    ctx = Checker(db)
    errors = ErrorGroups(file=filename)
    parsed: dict[tuple[str, int], int] = {}
    for row, values in rows:
        period_text = cell_text(values.get("period"))
        try:
            period: str | None = check_period(period_text)
        except DomainError:
            errors.append(RowError(row, "period", f"考核期「{period_text}」应为 YYYY-MM", filename))
            period = None
        org = ctx.org(cell_text(values.get("org")))
        if isinstance(org, str):
            errors.append(RowError(row, "org", org, filename))
        number = cell_number(values.get("cases_handled"))
        if number is None or number < 0 or number != int(number):
            errors.append(RowError(row, "cases_handled", f"办件量「{cell_text(values.get('cases_handled'))}」"
                                                         "应为不小于0的整数", filename))
            continue
        if period is None or isinstance(org, str):
            continue
        if (period, org.id) in parsed:
            errors.append(RowError(row, "org", f"{org.name}{period}的办件量在文件中重复", filename))
            continue
        parsed[(period, org.id)] = int(number)
    if errors:
        raise ValidationFailed(errors=errors,
                               summary=f"{filename} 有 {errors.count} 处错误，未导入任何办件量")
    changed = set_cases_handled(db, actor=actor, counts=parsed, source=f"import:{filename}")
    for period in sorted({p for p, _ in parsed}):
        record_metrics(db, period=period, as_of=local_today())
    return changed


@audit.action({"handled_counts.recorded": "录入办件量"})
def set_cases_handled(db: Session, *, actor: Actor, counts: Mapping[tuple[str, int], int],
                      source: str) -> int:
    """Keep the handled counts ``(period, org_id) → cases``; how many were new or changed
    (one audit entry for them all)."""
    if not counts:
        return 0
    known = {(c.period, c.org_id): c for c in db.scalars(select(HandledCount).where(
        HandledCount.period.in_({p for p, _ in counts}),
        HandledCount.org_id.in_({o for _, o in counts})))}
    changed = 0
    for (period, org_id), cases in counts.items():
        count = known.get((period, org_id))
        if count is None:
            db.add(HandledCount(period=period, org_id=org_id, cases=cases, source=source[:200]))
        elif count.cases != cases:
            count.cases, count.source, count.updated_at = cases, source[:200], utcnow()
        else:
            continue
        changed += 1
    db.flush()
    if changed:
        audit.record(db, actor=actor, action="handled_counts.recorded",
                     object_type="handled_count", object_id=source[:128],
                     changes={"counts": len(counts), "changed": changed})
    return changed
