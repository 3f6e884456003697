"""加扣分: adjustments recorded, voided and listed; those a sheet applies."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tongban.assessment.models import Adjustment
from tongban.assessment.scoring import AppliedAdjustment
from tongban.core import audit
from tongban.core.db import utcnow
from tongban.core.errors import (
    Conflict,
    DomainError,
    NotFound,
)
from tongban.core.listing import Listing, ListParams, Page, paginate
from tongban.core.periods import check_period, month_of
from tongban.core.security import Actor
from tongban.org import service as org_service
from tongban.org.models import Org


@audit.action({"adjustment.recorded": "录入加扣分"})
def record_adjustment(
    db: Session,
    *,
    actor: Actor,
    period: str,
    org: Org,
    points: float,
    reason: str,
    indicator_code: str | None = None,
    scheme_code: str | None = None,
    source: str = "manual",
    source_ref: str = "",
    source_url: str = "",
    key: str | None = None,
) -> tuple[Adjustment, bool]:
    """Record one 加分/扣分 event; a ``key`` already recorded returns that one unchanged."""
    org_service.require_manager(actor, "录入加扣分")
    check_period(period)
    if not reason.strip():
        raise DomainError("加扣分必须写明原因")
    if points == 0:
        raise DomainError("加扣分分值不能为0")
    if not math.isfinite(points):
        raise DomainError("加扣分分值须为有限的数字（不能是 inf 或 NaN）")
    if source_url and not ((source_url.startswith("/") and not source_url.startswith("//"))
                           or source_url.lower().startswith(("https://", "http://"))):
        raise DomainError("来源链接只能是本站路径（/…）或 http(s) 网址")
    if key is not None:
        existing = db.scalar(select(Adjustment).where(Adjustment.key == key))
        if existing is not None:
            return existing, False
    adjustment = Adjustment(
        period=period, org_id=org.id, org=org, scheme_code=scheme_code,
        indicator_code=indicator_code, points=round(points, 4), reason=reason.strip(),
        source=source, source_ref=source_ref, source_url=source_url, key=key,
        created_by=actor.username,
    )
    db.add(adjustment)
    db.flush()
    audit.record(
        db, actor=actor, action="adjustment.recorded", object_type="adjustment",
        object_id=adjustment.id,
        changes={"period": period, "org": org.code, "points": adjustment.points,
                 "indicator": indicator_code, "source": source, "source_ref": source_ref},
        reason=reason,
    )
    return adjustment, True


@audit.action({"adjustment.voided": "撤销加扣分"})
def void_adjustment(db: Session, *, actor: Actor, adjustment_id: int, reason: str) -> Adjustment:
    """Withdraw an adjustment (kept for audit); sheets computed afterwards leave it out."""
    org_service.require_manager(actor, "撤销加扣分")
    adjustment = db.get(Adjustment, adjustment_id)
    if adjustment is None:
        raise NotFound(f"未找到加扣分记录 {adjustment_id}")
    if adjustment.voided_at is not None:
        raise Conflict(f"加扣分记录 {adjustment_id} 已撤销")
    if not reason.strip():
        raise DomainError("撤销加扣分必须写明原因")
    adjustment.voided_at = utcnow()
    adjustment.void_reason = reason
    db.flush()
    audit.record(db, actor=actor, action="adjustment.voided", object_type="adjustment",
                 object_id=adjustment.id, changes={"points": adjustment.points}, reason=reason)
    return adjustment


#: Adjustments as a list: by period, in the order they were recorded.
ADJUSTMENTS = Listing(
    sorts={"period": ("考核期", [Adjustment.period]), "points": ("分值", [Adjustment.points]),
           "id": ("编号", [Adjustment.id])},
    key=Adjustment.id, search="原因中的文字或来源编号", dates="考核期（所在月份）")


def list_adjustments(
    db: Session, *, actor: Actor, period: str | None = None, org: Org | None = None,
    include_voided: bool = False, params: ListParams,
) -> Page[Adjustment]:
    """A page of the adjustments of the orgs the actor may see."""
    conditions: list[Any] = [Adjustment.org_id.in_(org_service.visible_org_ids(db, actor=actor))]
    if period:
        conditions.append(Adjustment.period == check_period(period))
    if org is not None:
        org_service.ensure_visible(db, actor=actor, org=org)
        conditions.append(Adjustment.org_id == org.id)
    if not include_voided:
        conditions.append(Adjustment.voided_at.is_(None))
    if params.q:
        conditions.append(or_(Adjustment.reason.contains(params.q, autoescape=True),
                              Adjustment.source_ref == params.q))
    if params.since:
        conditions.append(Adjustment.period >= month_of(params.since))
    if params.until:
        conditions.append(Adjustment.period <= month_of(params.until))
    return paginate(db, select(Adjustment).where(*conditions), params=params,
                    order=ADJUSTMENTS.order(params, default=[Adjustment.period, Adjustment.id]))


def _applied_adjustments(
    db: Session, *, period: str, org_ids: list[int], scheme_code: str
) -> dict[int, list[AppliedAdjustment]]:
    rows = db.execute(
        select(Adjustment.org_id, Adjustment.id, Adjustment.points, Adjustment.reason,
               Adjustment.indicator_code, Adjustment.source, Adjustment.source_ref,
               Adjustment.source_url).where(
            Adjustment.period == period,
            Adjustment.org_id.in_(org_ids),
            Adjustment.voided_at.is_(None),
            or_(Adjustment.scheme_code.is_(None), Adjustment.scheme_code == scheme_code),
        ).order_by(Adjustment.id)
    )
    out: dict[int, list[AppliedAdjustment]] = defaultdict(list)
    for org_id, id_, points, reason, indicator, source, source_ref, source_url in rows:
        out[org_id].append(AppliedAdjustment(
            id=id_, points=points, reason=reason, indicator_code=indicator, source=source,
            source_ref=source_ref, source_url=source_url))
    return dict(out)
