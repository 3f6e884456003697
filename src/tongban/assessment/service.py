"""Assessment operations: schemes, metric values, adjustments, score sheets.

Feeders (reviews, rectification, errands, imports) write only through
:func:`record_metric_values` and :func:`record_adjustment`; nothing else writes these tables.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, or_, select
from sqlalchemy.orm import Session, defer, lazyload, load_only

from tongban.assessment.enums import Grade, SheetAction, SheetStatus
from tongban.assessment.explain import describe
from tongban.assessment.models import Adjustment, MetricValue, Scheme, ScoreLine, ScoreSheet
from tongban.assessment.ranking import competition_rank
from tongban.assessment.rules import ItemResult, stored_item, stored_points
from tongban.assessment.scheme import (
    IndicatorChange,
    IndicatorDef,
    SchemeDef,
    canonical_json,
    content_hash,
    diff_schemes,
    parse_scheme,
)
from tongban.assessment.scoring import AppliedAdjustment, OrgScore, score_cohort
from tongban.core import audit
from tongban.core.db import utcnow
from tongban.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    RowError,
    ValidationFailed,
    permitted,
)
from tongban.core.listing import Listing, ListParams, Page, contains_text, paginate
from tongban.core.periods import check_period, month_of, period_label, previous_period
from tongban.core.security import Actor
from tongban.core.workdays import local_today
from tongban.org import service as org_service
from tongban.org.enums import Area
from tongban.org.models import Cohort, CohortMember, Org

audit.name_objects({"scheme": "考核方案", "score_sheet": "成绩单", "metric_value": "数据项",
                    "adjustment": "加扣分", "import_batch": "考核数据导入"})

# ---------------------------------------------------------------- schemes


_DEFINITIONS: dict[str, SchemeDef] = {}  # content hash → definition (versions never change)


def scheme_definition(scheme: Scheme) -> SchemeDef:
    """The validated definition of a stored scheme (parsed once per content hash)."""
    definition = _DEFINITIONS.get(scheme.content_hash)
    if definition is None:
        definition = _DEFINITIONS[scheme.content_hash] = SchemeDef.model_validate(scheme.content)
    return definition


@audit.action({"scheme.loaded": "载入考核方案"})
def load_scheme(db: Session, *, actor: Actor, text: str, filename: str = "") -> tuple[Scheme, bool]:
    """Validate and store a scheme version; loading the same content again changes nothing.

    A different content under an existing code and version is refused: versions are immutable.
    """
    org_service.require_manager(actor, "加载考核方案")
    definition = parse_scheme(text, filename=filename)
    digest = content_hash(definition)
    existing = db.scalar(
        select(Scheme).where(Scheme.code == definition.code, Scheme.version == definition.version)
    )
    if existing is not None:
        if existing.content_hash == digest:
            return existing, False
        raise Conflict(
            f"考核方案 {definition.code} 的 {definition.version} 版已存在且内容不同；"
            "已加载的版本不可修改，请使用新的版本号"
        )
    unknown = [c for c in definition.cohorts
               if db.scalar(select(Cohort.id).where(Cohort.code == c)) is None]
    if unknown:
        raise ValidationFailed(
            errors=[RowError(None, "cohort", f"考核分组「{c}」不存在", filename or None)
                    for c in unknown],
            summary="考核方案校验未通过",
        )
    scheme = Scheme(
        code=definition.code,
        version=definition.version,
        name=definition.name,
        issuer=definition.issuer,
        effective_from=definition.effective_from,
        effective_to=definition.effective_to,
        cohorts=definition.cohorts,
        total_points=definition.total_points,
        indicator_count=len(definition.indicators()),
        content=json.loads(canonical_json(definition)),
        source_yaml=text,
        content_hash=digest,
        loaded_by=actor.username,
    )
    db.add(scheme)
    db.flush()
    audit.record(
        db, actor=actor, action="scheme.loaded", object_type="scheme",
        object_id=f"{scheme.code}@{scheme.version}",
        changes={"hash": digest, "indicators": scheme.indicator_count,
                 "effective_from": scheme.effective_from, "cohorts": scheme.cohorts},
    )
    return scheme, True


#: Scheme versions as a list: by code, then in the order they came into force.
SCHEMES = Listing(
    sorts={"code": ("方案代码", [Scheme.code, Scheme.effective_from, Scheme.loaded_at]),
           "effective_from": ("起始考核期", [Scheme.effective_from, Scheme.code])},
    key=Scheme.id, search="方案代码或名称中的文字")


def list_schemes(db: Session, *, actor: Actor, params: ListParams) -> Page[Scheme]:
    """A page of the loaded scheme versions (their content is read when one is opened)."""
    org_service.require_area(actor, Area.schemes)
    stmt = select(Scheme).options(defer(Scheme.content), defer(Scheme.source_yaml))
    if params.q:
        stmt = stmt.where(contains_text(params.q, Scheme.code, Scheme.name))
    return paginate(db, stmt, params=params, order=SCHEMES.order(params, default=[
        Scheme.code, Scheme.effective_from, Scheme.loaded_at, Scheme.id]))


def get_scheme(db: Session, *, actor: Actor, ref: str) -> Scheme:
    """``code@version``, or ``code`` for its newest version."""
    org_service.require_area(actor, Area.schemes)
    code, _, version = ref.partition("@")
    stmt = select(Scheme).where(Scheme.code == code)
    if version:
        stmt = stmt.where(Scheme.version == version)
    scheme = db.scalar(stmt.order_by(Scheme.effective_from.desc(), Scheme.id.desc()).limit(1))
    if scheme is None:
        raise NotFound(f"未找到考核方案「{ref}」")
    return scheme


def scheme_for(db: Session, *, cohort: Cohort, period: str) -> Scheme:
    """The scheme in force for ``cohort`` in ``period`` (the newest version that covers it)."""
    check_period(period)
    # Only what choosing needs: a scheme's content is loaded for the one chosen, when read.
    candidates = [
        s for s in db.scalars(select(Scheme).order_by(Scheme.effective_from, Scheme.id).options(
            load_only(Scheme.code, Scheme.version, Scheme.cohorts, Scheme.effective_from,
                      Scheme.effective_to, Scheme.content_hash)))
        if cohort.code in s.cohorts and s.effective_from <= period
        and (s.effective_to is None or period <= s.effective_to)
    ]
    if not candidates:
        raise NotFound(f"{period_label(period)}没有适用于「{cohort.name}」的考核方案")
    newest = max(candidates, key=lambda s: (s.effective_from, s.id))
    rivals = {s.code for s in candidates if s.effective_from == newest.effective_from}
    if len(rivals) > 1:
        raise Conflict(f"{period_label(period)}「{cohort.name}」同时适用多个考核方案："
                       f"{'、'.join(sorted(rivals))}")
    return newest


def diff(db: Session, *, actor: Actor, old_ref: str, new_ref: str) -> list[IndicatorChange]:
    old = scheme_definition(get_scheme(db, actor=actor, ref=old_ref))
    new = scheme_definition(get_scheme(db, actor=actor, ref=new_ref))
    return diff_schemes(old, new)


# ---------------------------------------------------------------- metric values


@dataclass(frozen=True)
class MetricInput:
    """One metric value to record."""

    period: str
    org_id: int
    metric: str
    value: float
    evidence: str = ""


@audit.action({"metrics.recorded": "录入指标数据"})
def record_metric_values(
    db: Session, *, actor: Actor, values: Sequence[MetricInput], source: str
) -> int:
    """Upsert metric values; returns how many were new or changed (the same value is a no-op).

    inf or NaN would score as infinitely good or bad: refused, whichever feeder sends it."""
    if not values:
        return 0
    if not all(math.isfinite(v.value) for v in values):
        raise DomainError("数据项的值须为有限的数字（不能是 inf 或 NaN）")
    periods = {v.period for v in values}
    org_ids = {v.org_id for v in values}
    metrics = {v.metric for v in values}
    existing = {
        (row.period, row.org_id, row.metric): row
        for row in db.scalars(
            select(MetricValue).where(
                MetricValue.period.in_(periods),
                MetricValue.org_id.in_(org_ids),
                MetricValue.metric.in_(metrics),
            )
        )
    }
    changed = 0
    new_rows = []
    for v in values:
        row = existing.get((v.period, v.org_id, v.metric))
        if row is None:
            new_rows.append({"period": v.period, "org_id": v.org_id, "metric": v.metric,
                             "value": v.value, "source": source, "evidence": v.evidence,
                             "updated_at": utcnow()})
            changed += 1
        elif row.value != v.value:
            row.value, row.source, row.evidence = v.value, source, v.evidence
            changed += 1
    if new_rows:
        db.execute(insert(MetricValue), new_rows)
    db.flush()
    if changed:
        audit.record(
            db, actor=actor, action="metrics.recorded", object_type="metric_value",
            object_id=source[:128],
            changes={"changed": changed, "periods": sorted(periods), "metrics": len(metrics)},
        )
    return changed


def metric_values(
    db: Session, *, period: str, org_ids: Iterable[int], metrics: Iterable[str] | None = None
) -> dict[int, dict[str, float]]:
    """{org_id: {metric: value}} for one period (only ``metrics`` when given)."""
    stmt = select(MetricValue.org_id, MetricValue.metric, MetricValue.value).where(
        MetricValue.period == period, MetricValue.org_id.in_(list(org_ids))
    )
    wanted = set(metrics) if metrics is not None else None
    out: dict[int, dict[str, float]] = defaultdict(dict)
    db.flush()  # plain rows on the session's connection: scoring reads ~16k per period
    result = db.connection().execute(stmt)
    # The DBAPI's own tuples (three plain columns need no result processing; building a Row
    # for each doubled the time), and the metric filter here, not in SQL: a scheme reads most
    # of an org's metrics, and a long IN list costs SQLite more than the rows it leaves out.
    rows = result.cursor.fetchall()
    result.close()
    for org_id, metric, value in rows:
        if wanted is None or metric in wanted:
            out[org_id][metric] = value
    return dict(out)


# ---------------------------------------------------------------- adjustments


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


# ---------------------------------------------------------------- score sheets


def get_cohort(db: Session, *, code: str) -> Cohort:
    # Members (with their orgs) load only when asked for: scoring needs just their ids.
    cohort = db.scalar(select(Cohort).where(Cohort.code == code)
                       .options(lazyload(Cohort.members)))
    if cohort is None:
        raise NotFound(f"未找到考核分组「{code}」")
    return cohort


def compute_scores(
    db: Session, *, scheme: Scheme, cohort: Cohort, period: str
) -> tuple[SchemeDef, list[OrgScore]]:
    """Score the cohort from the stored metric values and adjustments (nothing is written).

    Every metric value of the period goes into each line's inputs, not only the scheme's: the
    figures a report shows beside the scores (满意度, 实名回访率, default ratings …) are then
    frozen with the sheet and read back through :func:`line_values`, never from live tables."""
    definition = scheme_definition(scheme)
    org_ids = org_service.member_ids(db, cohort=cohort)
    values = metric_values(db, period=period, org_ids=org_ids)
    adjustments = _applied_adjustments(db, period=period, org_ids=org_ids,
                                       scheme_code=scheme.code)
    return definition, score_cohort(definition, org_ids, values, adjustments)


def _sheets(db: Session, *, cohort: Cohort, period: str) -> list[ScoreSheet]:
    # The cohort is at hand and the scheme usually in the session already: neither is joined
    # (a joined cohort would also reload its members with their orgs).
    return list(db.scalars(
        select(ScoreSheet).where(ScoreSheet.cohort_id == cohort.id, ScoreSheet.period == period)
        .order_by(ScoreSheet.revision)
        .options(lazyload(ScoreSheet.cohort), lazyload(ScoreSheet.scheme))
    ))


def current_sheet(db: Session, *, cohort: Cohort, period: str,
                  actor: Actor | None = None) -> ScoreSheet | None:
    """The sheet readers see: the newest published revision, else the draft, which only the
    city-wide roles may read (a liaison sees a month once it is published)."""
    sheets = _sheets(db, cohort=cohort, period=period)
    published = [s for s in sheets if s.status == SheetStatus.published.value]
    if published:
        return published[-1]
    if actor is not None and not actor.is_citywide:
        return None
    drafts = [s for s in sheets if s.status == SheetStatus.draft.value]
    return drafts[-1] if drafts else None


def _write_lines(db: Session, sheet: ScoreSheet, scores: list[OrgScore]) -> None:
    """Store the scores as the sheet's lines in one multi-row INSERT."""
    db.flush()
    # Core, not ORM, bulk insert: the ORM's per-row bookkeeping cost more than the INSERT itself.
    db.execute(insert(cast(Table, ScoreLine.__table__)), [
        {
            "sheet_id": sheet.id, "org_id": s.org_id, "position": i,
            "indicator_total": s.indicator_total, "adjustment_total": s.adjustment_total,
            "total": s.total, "rank": s.rank, "grade": s.grade.value, "leading": s.leading,
            "items": s.stored_items(),
            "adjustments": [a.as_dict() for a in s.adjustments],
        }
        for i, s in enumerate(scores)
    ])
    db.expire(sheet, ["lines"])


def _raise_scoring_errors(db: Session, scores: list[OrgScore], period: str) -> None:
    errors: list[RowError] = []
    for s in scores:
        if s.errors:
            org = db.get(Org, s.org_id)
            name = org.name if org else str(s.org_id)
            errors.extend(RowError(None, None, f"{name} {e}") for e in s.errors)
    if errors:
        raise ValidationFailed(errors=errors,
                               summary=f"{period_label(period)}有指标缺少必需的数据，无法计分")


def _check_sheet_action(actor: Actor, cohort: Cohort, period: str, sheets: list[ScoreSheet],
                        action: SheetAction) -> None:
    """Raise the refusal of ``action`` on the month's sheets, if any: the one check behind
    :func:`compute_sheet`, :func:`publish_sheet`, :func:`correct_sheet` and their buttons."""
    org_service.require_manager(actor, action.label)
    drafts = [s for s in sheets if s.status == SheetStatus.draft.value]
    published = any(s.status == SheetStatus.published.value for s in sheets)
    month = f"{cohort.name}{period_label(period)}"
    if action is SheetAction.compute and sheets and not drafts:
        raise Conflict(f"{month}成绩单第{sheets[-1].revision}版已发布，不能重新计算；"
                       f"如需更正请新建更正修订并写明原因")
    if action is SheetAction.publish and not drafts:
        raise Conflict(f"{month}没有待发布的草稿成绩单")
    if action is SheetAction.correct and not published:
        raise Conflict(f"{month}尚无已发布的成绩单，直接重新计算即可")
    if action is SheetAction.correct and drafts:
        raise Conflict(f"{month}已有未发布的更正草稿")


def allowed_sheet_actions(db: Session, *, actor: Actor, cohort_code: str,
                          period: str) -> frozenset[SheetAction]:
    """What ``actor`` may do now to the cohort's sheet of ``period``: pages show exactly these."""
    cohort = get_cohort(db, code=cohort_code)
    sheets = _sheets(db, cohort=cohort, period=check_period(period))
    return permitted(SheetAction, lambda action: _check_sheet_action(actor, cohort, period,
                                                                      sheets, action))


@audit.action({"sheet.computed": "计算得分表", "sheet.recomputed": "重新计算得分表"})
def compute_sheet(db: Session, *, actor: Actor, cohort_code: str, period: str) -> ScoreSheet:
    """Compute (or recompute) the draft sheet; a published sheet is never recomputed."""
    check_period(period)
    cohort = get_cohort(db, code=cohort_code)
    sheets = _sheets(db, cohort=cohort, period=period)
    _check_sheet_action(actor, cohort, period, sheets, SheetAction.compute)
    scheme = scheme_for(db, cohort=cohort, period=period)
    draft = next((s for s in reversed(sheets) if s.status == SheetStatus.draft.value), None)
    _, scores = compute_scores(db, scheme=scheme, cohort=cohort, period=period)
    _raise_scoring_errors(db, scores, period)
    if draft is None:
        draft = ScoreSheet(scheme_id=scheme.id, scheme=scheme, scheme_code=scheme.code,
                           cohort_id=cohort.id, cohort=cohort, period=period, revision=1,
                           status=SheetStatus.draft.value)
        db.add(draft)
        action = "sheet.computed"
    else:
        db.execute(delete(ScoreLine).where(ScoreLine.sheet_id == draft.id))
        db.expire(draft, ["lines"])
        draft.scheme_id, draft.scheme, draft.scheme_code = scheme.id, scheme, scheme.code
        action = "sheet.recomputed"
    draft.computed_at = utcnow()
    draft.computed_by = actor.username
    _write_lines(db, draft, scores)
    db.flush()
    audit.record(db, actor=actor, action=action, object_type="score_sheet",
                 object_id=f"{cohort.code}/{period}/r{draft.revision}",
                 changes={"scheme": f"{scheme.code}@{scheme.version}", "orgs": len(scores)})
    return draft


def sheet_hash(sheet: ScoreSheet) -> str:
    payload = {
        "scheme": sheet.scheme.content_hash, "cohort": sheet.cohort.code,
        "period": sheet.period, "revision": sheet.revision,
        "lines": [{"org": line.org.code, "total": line.total, "rank": line.rank,
                   "grade": line.grade, "items": line.items, "adjustments": line.adjustments}
                  for line in sheet.lines],
    }
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@audit.action({"sheet.published": "发布得分表"})
def publish_sheet(db: Session, *, actor: Actor, cohort_code: str, period: str) -> ScoreSheet:
    """Freeze the draft with a hash; an earlier published revision becomes superseded."""
    cohort = get_cohort(db, code=cohort_code)
    sheets = _sheets(db, cohort=cohort, period=check_period(period))
    _check_sheet_action(actor, cohort, period, sheets, SheetAction.publish)
    draft = next(s for s in reversed(sheets) if s.status == SheetStatus.draft.value)
    for older in sheets:
        if older.status == SheetStatus.published.value:
            older.status = SheetStatus.superseded.value
    draft.status = SheetStatus.published.value
    draft.published_at = utcnow()
    draft.published_by = actor.username
    draft.content_hash = sheet_hash(draft)
    db.flush()
    audit.record(db, actor=actor, action="sheet.published", object_type="score_sheet",
                 object_id=f"{cohort.code}/{period}/r{draft.revision}",
                 changes={"hash": draft.content_hash}, reason=draft.correction_reason)
    return draft


@audit.action({"sheet.correction_started": "开始更正得分表"})
def correct_sheet(
    db: Session, *, actor: Actor, cohort_code: str, period: str, reason: str
) -> ScoreSheet:
    """Start a correction: a new draft revision computed from the current data, with a reason."""
    cohort = get_cohort(db, code=cohort_code)
    sheets = _sheets(db, cohort=cohort, period=check_period(period))
    _check_sheet_action(actor, cohort, period, sheets, SheetAction.correct)
    if not reason.strip():
        raise DomainError("更正成绩单必须写明原因")
    scheme = scheme_for(db, cohort=cohort, period=period)
    _, scores = compute_scores(db, scheme=scheme, cohort=cohort, period=period)
    _raise_scoring_errors(db, scores, period)
    sheet = ScoreSheet(scheme_id=scheme.id, scheme=scheme, scheme_code=scheme.code,
                       cohort_id=cohort.id, cohort=cohort, period=period,
                       revision=sheets[-1].revision + 1, status=SheetStatus.draft.value,
                       correction_reason=reason.strip(), computed_by=actor.username)
    db.add(sheet)
    _write_lines(db, sheet, scores)
    db.flush()
    audit.record(db, actor=actor, action="sheet.correction_started", object_type="score_sheet",
                 object_id=f"{cohort.code}/{period}/r{sheet.revision}", reason=reason)
    return sheet


def sheet_periods(db: Session, *, cohort: Cohort) -> list[str]:
    return list(db.scalars(
        select(ScoreSheet.period).where(ScoreSheet.cohort_id == cohort.id)
        .distinct().order_by(ScoreSheet.period)
    ))


def cohort_periods(db: Session, *, actor: Actor | None = None) -> dict[str, list[str]]:
    """For every cohort code that has sheets ``actor`` may read, their periods (for pickers)."""
    stmt = (select(Cohort.code, ScoreSheet.period)
            .join(ScoreSheet, ScoreSheet.cohort_id == Cohort.id)
            .distinct().order_by(Cohort.code, ScoreSheet.period))
    if actor is not None and not actor.is_citywide:
        stmt = stmt.where(ScoreSheet.status == SheetStatus.published.value)
    rows = db.execute(stmt).all()
    out: dict[str, list[str]] = defaultdict(list)
    for code, period in rows:
        out[code].append(period)
    return dict(out)


def cohort_names(db: Session, *, codes: Iterable[str]) -> dict[str, str]:
    """Code → name of the given cohorts, in the order given."""
    wanted = list(codes)
    names = dict(db.execute(select(Cohort.code, Cohort.name).where(Cohort.code.in_(wanted))).all())
    return {code: names[code] for code in wanted if code in names}


def home_cohort(db: Session, *, actor: Actor, codes: Iterable[str]) -> str | None:
    """The cohort a page opens on: for an actor with an org, the first that ranks it (a
    liaison's own league); otherwise the province's ranking of cities (the reference cohort),
    else the first."""
    wanted = list(codes)
    own = org_service.own_org(db, actor)
    if own is not None:
        mine = set(db.scalars(select(Cohort.code).join(CohortMember).where(
            CohortMember.org_id == own.id, Cohort.code.in_(wanted))))
        found = next((code for code in wanted if code in mine), None)
        if found is not None:
            return found
    reference = set(db.scalars(select(Cohort.code).where(Cohort.is_reference,
                                                         Cohort.code.in_(wanted))))
    return next((code for code in wanted if code in reference), next(iter(wanted), None))


def require_sheet(db: Session, *, cohort_code: str, period: str,
                  actor: Actor | None = None) -> ScoreSheet:
    """The sheet of a cohort and month as ``actor`` may read it (see :func:`current_sheet`)."""
    cohort = get_cohort(db, code=cohort_code)
    sheet = current_sheet(db, cohort=cohort, period=check_period(period), actor=actor)
    if sheet is None:
        raise NotFound(f"{cohort.name}{period_label(period)}尚无成绩单；请先导入数据并计算该月成绩单")
    return sheet


def visible_lines(db: Session, *, actor: Actor, sheet: ScoreSheet, q: str = "",
                  grade: Grade | None = None) -> list[ScoreLine]:
    """The lines of a sheet the actor may read (a liaison: only its own org subtree), of
    orgs whose name or code holds ``q`` and of ``grade``, if given (a cohort's lines are few:
    filtered here)."""
    lines = list(sheet.lines) if actor.is_citywide else [
        line for line in sheet.lines if org_service.can_see(db, actor=actor, org=line.org)]
    q = q.strip()
    return [line for line in lines
            if (not q or q in line.org.name or q in line.org.code)
            and (grade is None or line.grade == grade.value)]


def line_of(db: Session, *, actor: Actor, sheet: ScoreSheet, org_ref: str) -> ScoreLine:
    org = org_service.resolve_org(db, ref=org_ref, actor=actor)
    line = next((line for line in sheet.lines if line.org_id == org.id), None)
    if line is None:
        raise NotFound(f"「{org.name}」不在{sheet.cohort.name}中")
    return line


def previous_ranks(db: Session, *, sheet: ScoreSheet) -> dict[int, int]:
    """Each org's rank on the previous month's current sheet of the same cohort."""
    before = current_sheet(db, cohort=sheet.cohort, period=previous_period(sheet.period))
    return {line.org_id: line.rank for line in before.lines} if before else {}


def sheets_of(db: Session, *, cohort: Cohort, actor: Actor | None = None) -> list[ScoreSheet]:
    """The current sheet of every period of a cohort ``actor`` may read, oldest first."""
    out = []
    for period in sheet_periods(db, cohort=cohort):
        sheet = current_sheet(db, cohort=cohort, period=period, actor=actor)
        if sheet is not None:
            out.append(sheet)
    return out


def line_values(line: ScoreLine) -> dict[str, float]:
    """The org's metric values as the sheet scored them (all of the period's, since sheets
    keep them all): what reports quote for a scored period."""
    return dict(line.items.get("_inputs", {}))


def line_item(line: ScoreLine, indicator: IndicatorDef) -> ItemResult | None:
    """One indicator's result on a stored line (None when the line does not score it)."""
    stored = stored_item(line.items, indicator)
    return None if stored is None else ItemResult.from_dict(stored, indicator.max_points)


def explanation(
    db: Session, *, actor: Actor, cohort_code: str, period: str, org_ref: str
) -> dict[str, Any]:
    """Where every point of one org came from: rule, inputs, points, points lost, adjustments."""
    sheet = require_sheet(db, cohort_code=cohort_code, period=period, actor=actor)
    line = line_of(db, actor=actor, sheet=sheet, org_ref=org_ref)
    definition = scheme_definition(sheet.scheme)
    indicators = []
    for category, indicator in definition.indicators():
        item = line_item(line, indicator) or ItemResult(0.0, indicator.max_points, {})
        indicators.append({
            "code": indicator.code, "name": indicator.name, "category": category.name,
            "rule": indicator.rule.type, "missing_policy": indicator.missing_policy.value,
            "points": item.points, "max_points": indicator.max_points, "lost": item.lost,
            "inputs": item.inputs, "note": describe(indicator, item.as_dict()),
            "excluded": item.excluded,
        })
    notes = line.items.get("_notes", {}).get("notes", [])
    return {
        "org_code": line.org.code, "org_name": line.org.name, "period": period,
        "cohort": sheet.cohort.code, "scheme": f"{sheet.scheme.code}@{sheet.scheme.version}",
        "status": sheet.status, "revision": sheet.revision, "total": line.total,
        "rank": line.rank, "of": len(sheet.lines), "grade": line.grade,
        "grade_label": Grade(line.grade).label, "leading": line.leading,
        "indicator_total": line.indicator_total, "adjustment_total": line.adjustment_total,
        "indicators": indicators, "adjustments": line.adjustments, "notes": notes,
    }


def _newest_scored(db: Session, *, org_ids: Iterable[int], actor: Actor | None,
                   published: bool = False) -> dict[tuple[int, str | None], tuple[int, str]]:
    """For each org, the (cohort id, period) of the newest month a sheet ``actor`` may read
    (a published one, if asked) scores it: under any scheme (key ``(org id, None)``) and
    under each scheme code."""
    readable = ([SheetStatus.published.value]
                if published or (actor is not None and not actor.is_citywide)
                else [SheetStatus.published.value, SheetStatus.draft.value])
    newest: dict[tuple[int, str | None], tuple[int, str]] = {}
    for org_id, cohort_id, period, scheme_code in db.execute(
            select(ScoreLine.org_id, ScoreSheet.cohort_id, ScoreSheet.period, ScoreSheet.scheme_code)
            .join(ScoreLine, ScoreLine.sheet_id == ScoreSheet.id)
            .where(ScoreLine.org_id.in_(list(org_ids)), ScoreSheet.status.in_(readable))
            .order_by(ScoreSheet.period.desc(), ScoreSheet.id.desc())):
        newest.setdefault((org_id, None), (cohort_id, period))
        newest.setdefault((org_id, scheme_code), (cohort_id, period))
    return newest


def _current_of(db: Session, month: tuple[int, str], actor: Actor | None) -> ScoreSheet | None:
    cohort = db.get(Cohort, month[0])
    assert cohort is not None
    return current_sheet(db, cohort=cohort, period=month[1], actor=actor)


def latest_sheet_of(db: Session, *, org: Org, scheme_code: str | None = None,
                    actor: Actor | None = None) -> ScoreSheet | None:
    """The newest period's current sheet that scores ``org`` (under ``scheme_code`` if given)
    and that ``actor`` may read (a liaison: published ones only)."""
    found = _newest_scored(db, org_ids=[org.id], actor=actor).get((org.id, scheme_code or None))
    return None if found is None else _current_of(db, found, actor)


# ---------------------------------------------------------------- the sheet read model


@dataclass(frozen=True)
class SheetAdjustment:
    """One 加扣分 a sheet applied to an org, with its reason and where it came from."""

    id: int
    points: float
    reason: str
    indicator_code: str | None
    source: str
    source_ref: str
    source_url: str

    @property
    def cited(self) -> str:
        """What a report names as the source: the reference, else the kind of source."""
        return self.source_ref or self.source


@dataclass(frozen=True)
class SheetRow:
    """One org's line of a sheet as reports and analysis read it: nothing live."""

    org_id: int
    org_code: str
    org_name: str
    org_path: str  # the org's place in the tree, to scope a report to a part of it
    rank: int
    previous_rank: int | None
    previous_grade: Grade | None
    indicator_total: float
    adjustment_total: float
    total: float
    grade: Grade
    leading: bool
    values: dict[str, float]
    adjustments: tuple[SheetAdjustment, ...]
    notes: tuple[str, ...]
    stored: dict[str, Any] = field(repr=False)

    def item(self, indicator: IndicatorDef) -> ItemResult | None:
        """The indicator's points and inputs on this line (None when not scored)."""
        raw = stored_item(self.stored, indicator)
        return None if raw is None else ItemResult.from_dict(raw, indicator.max_points)

    def points(self, code: str) -> float | None:
        """The indicator's points, None when it was not scored or was excluded."""
        return stored_points(self.stored, code)

    @property
    def rank_change(self) -> int | None:
        """Places gained since last month (negative: lost), None without last month's rank."""
        return None if self.previous_rank is None else self.previous_rank - self.rank


@dataclass(frozen=True)
class SheetView:
    """A score sheet as outputs read it: the figures of one cohort and month, frozen.

    ``rows`` holds every org of the sheet, ranked (ranks, leaders and medians need them all);
    ``shown`` the rows the reading actor may see. Every report, bulletin, tile and export of a
    scored period takes its numbers from here, never from live tables.
    """

    id: int
    cohort_code: str
    cohort_name: str
    is_reference: bool
    period: str
    revision: int
    status: SheetStatus
    scheme_code: str
    scheme_name: str
    scheme_version: str
    definition: SchemeDef
    content_hash: str
    rows: tuple[SheetRow, ...]
    shown: tuple[SheetRow, ...]

    @property
    def draft(self) -> bool:
        return self.status != SheetStatus.published

    @property
    def source_label(self) -> str:
        """The sheet named as a report cites it: 县区类2026年3月成绩单第1版（已发布）."""
        return (f"{self.cohort_name}{period_label(self.period)}成绩单第{self.revision}版"
                f"（{self.status.label}）")

    def row_of(self, org_id: int) -> SheetRow | None:
        return next((row for row in self.rows if row.org_id == org_id), None)

    def rank_with(self, org_id: int, total: float) -> int:
        """The org's rank were its total ``total`` and every other org's as on the sheet."""
        totals = {row.org_id: row.total for row in self.rows}
        totals[org_id] = total
        return competition_rank(totals, decimals=self.definition.decimals)[org_id]


def view_of(db: Session, *, sheet: ScoreSheet, actor: Actor | None) -> SheetView:
    """A sheet already loaded, as the read model (``actor`` None: every row shown)."""
    earlier = current_sheet(db, cohort=sheet.cohort, period=previous_period(sheet.period))
    before = {line.org_id: line for line in earlier.lines} if earlier else {}
    rows = tuple(sorted((SheetRow(
        org_id=line.org_id, org_code=line.org.code, org_name=line.org.name,
        org_path=line.org.path, rank=line.rank,
        previous_rank=before[line.org_id].rank if line.org_id in before else None,
        previous_grade=Grade(before[line.org_id].grade) if line.org_id in before else None,
        indicator_total=line.indicator_total,
        adjustment_total=line.adjustment_total, total=line.total, grade=Grade(line.grade),
        leading=line.leading, values=line_values(line),
        adjustments=tuple(SheetAdjustment(
            id=int(a["id"]), points=float(a["points"]), reason=str(a["reason"]),
            indicator_code=a.get("indicator_code"), source=str(a.get("source") or ""),
            source_ref=str(a.get("source_ref") or ""), source_url=str(a.get("source_url") or ""))
            for a in line.adjustments),
        notes=tuple(line.items.get("_notes", {}).get("notes", [])), stored=line.items,
    ) for line in sheet.lines), key=lambda r: (r.rank, r.org_code)))
    visible = ({line.org_id for line in visible_lines(db, actor=actor, sheet=sheet)}
               if actor is not None else {row.org_id for row in rows})
    scheme = sheet.scheme
    return SheetView(
        id=sheet.id, cohort_code=sheet.cohort.code, cohort_name=sheet.cohort.name,
        is_reference=sheet.cohort.is_reference, period=sheet.period, revision=sheet.revision,
        status=SheetStatus(sheet.status), scheme_code=scheme.code, scheme_name=scheme.name,
        scheme_version=scheme.version, definition=scheme_definition(scheme),
        content_hash=sheet.content_hash, rows=rows,
        shown=tuple(row for row in rows if row.org_id in visible))


def read_sheet(db: Session, *, actor: Actor, cohort_code: str, period: str) -> SheetView:
    """The current sheet of a cohort and month as ``actor`` may read it (a liaison: published
    sheets, its own orgs shown)."""
    sheet = require_sheet(db, cohort_code=cohort_code, period=period, actor=actor)
    return view_of(db, sheet=sheet, actor=actor)


def read_sheets(db: Session, *, actor: Actor, cohort_code: str,
                periods: Sequence[str]) -> list[SheetView]:
    """The current sheets ``actor`` may read of the given months, oldest first (months
    without one are left out)."""
    cohort = get_cohort(db, code=cohort_code)
    found = (current_sheet(db, cohort=cohort, period=p, actor=actor) for p in sorted(periods))
    return [view_of(db, sheet=sheet, actor=actor) for sheet in found if sheet is not None]


def latest_view_of(db: Session, *, actor: Actor, org: Org, scheme_code: str | None = None,
                   published: bool = False) -> SheetView | None:
    """:func:`latest_sheet_of` as a read model; ``published``: the newest published month."""
    if published:
        found = _newest_scored(db, org_ids=[org.id], actor=actor,
                               published=True).get((org.id, scheme_code or None))
        sheet = None if found is None else _current_of(db, found, actor)
    else:
        sheet = latest_sheet_of(db, org=org, scheme_code=scheme_code, actor=actor)
    return None if sheet is None else view_of(db, sheet=sheet, actor=actor)


@dataclass(frozen=True)
class LossProjection:
    """Where an org would stand on its latest sheet had it lost ``points``."""

    basis: str  # the sheet the projection starts from: 县区类2026年3月成绩单
    current_total: float
    current_rank: int
    projected_total: float
    projected_rank: int


def project_losses(db: Session, *, actor: Actor,
                   losses: Sequence[tuple[Org, float, str | None]]) -> list[LossProjection | None]:
    """Points at risk in, projected total and rank out, for each (org, points, scheme code):
    the loss applied to the org's latest sheet (under the scheme code if given), every other
    org unchanged; None without a sheet the actor may read. The orgs' latest sheets are found
    in one query and each is read once, however many of the orgs it scores."""
    newest = _newest_scored(db, org_ids={org.id for org, _, _ in losses}, actor=actor)
    views: dict[tuple[int, str], SheetView | None] = {}
    out: list[LossProjection | None] = []
    for org, points, scheme_code in losses:
        found = newest.get((org.id, scheme_code or None)) \
            if org_service.can_see(db, actor=actor, org=org) else None
        if found is not None and found not in views:
            sheet = _current_of(db, found, actor)
            views[found] = None if sheet is None else view_of(db, sheet=sheet, actor=actor)
        view = None if found is None else views[found]
        row = None if view is None else view.row_of(org.id)
        if view is None or row is None:
            out.append(None)
            continue
        after = round(row.total - points, 4)
        out.append(LossProjection(f"{view.cohort_name}{period_label(view.period)}成绩单",
                                  row.total, row.rank, after, view.rank_with(org.id, after)))
    return out


@dataclass(frozen=True)
class MonthStatus:
    """Where one cohort's month stands: data in, scored, published."""

    period: str
    orgs_with_data: int  # members with at least one metric value of the month
    members: int
    sheet: SheetStatus | None  # the newest revision's status; None: not scored
    revision: int = 0
    cohort_code: str = ""
    in_progress: bool = False  # this very month: its data is still coming in
    closed: bool = True  # the month is over (only then is it scored)

    @property
    def label(self) -> str:
        if self.sheet is SheetStatus.published:
            return "已发布"
        if self.sheet is SheetStatus.draft:
            return "已计算（草稿）" if self.revision == 1 else f"更正草稿第{self.revision}版"
        if self.in_progress:
            return "本月进行中"
        if self.orgs_with_data:
            return "已导入，未计算"
        return "缺数据"

    @property
    def computable(self) -> bool:
        """Whether the home offers to score it: a month that is over, with data, unpublished."""
        return bool(self.orgs_with_data) and self.closed \
            and self.sheet is not SheetStatus.published


def data_status(db: Session, *, actor: Actor, periods: Sequence[str]) -> dict[str, list[MonthStatus]]:
    """Per cohort name, each month's status (the analyst's home page): how many members
    have data, and whether the month is scored and published."""
    org_service.require_manager(actor, "查看数据状态")
    out: dict[str, list[MonthStatus]] = {}
    for cohort in db.scalars(select(Cohort).order_by(Cohort.is_reference.desc(), Cohort.code)):
        members = org_service.member_ids(db, cohort=cohort)
        with_data = dict(db.execute(
            select(MetricValue.period, func.count(func.distinct(MetricValue.org_id)))
            .where(MetricValue.period.in_(periods), MetricValue.org_id.in_(members))
            .group_by(MetricValue.period)).all()) if members else {}
        sheets: dict[str, ScoreSheet] = {}
        for sheet in db.scalars(select(ScoreSheet).where(
                ScoreSheet.cohort_id == cohort.id, ScoreSheet.period.in_(periods))
                .options(lazyload(ScoreSheet.cohort), lazyload(ScoreSheet.scheme))
                .order_by(ScoreSheet.revision)):
            sheets[sheet.period] = sheet  # the newest revision last
        this_month = month_of(local_today())
        out[cohort.name] = [MonthStatus(
            period, int(with_data.get(period, 0)), len(members),
            SheetStatus(sheets[period].status) if period in sheets else None,
            sheets[period].revision if period in sheets else 0, cohort.code,
            in_progress=period == this_month, closed=period < this_month)
            for period in periods]
    return out
