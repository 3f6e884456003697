"""Score sheets: computed from a scheme version, published (immutable, hashed), corrected as
new revisions; their lines, values and explanations."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session, lazyload

from tongban.assessment.enums import Grade, SheetAction, SheetStatus
from tongban.assessment.explain import describe
from tongban.assessment.models import Scheme, ScoreLine, ScoreSheet
from tongban.assessment.rules import ItemResult, stored_item
from tongban.assessment.scheme import (
    IndicatorDef,
    SchemeDef,
)
from tongban.assessment.scoring import OrgScore, score_cohort
from tongban.assessment.service.adjustments import _applied_adjustments
from tongban.assessment.service.schemes import scheme_definition, scheme_for
from tongban.assessment.service.values import metric_values
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
from tongban.core.periods import check_period, period_label, previous_period
from tongban.core.security import Actor
from tongban.org import service as org_service
from tongban.org.models import Cohort, CohortMember, Org


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


def published_sheet(db: Session, *, cohort: Cohort, period: str) -> ScoreSheet | None:
    """The month's newest published revision: the only base of a 较上月 (a draft never is)."""
    published = [s for s in _sheets(db, cohort=cohort, period=period)
                 if s.status == SheetStatus.published.value]
    return published[-1] if published else None


def drafts_before(db: Session, *, cohort_code: str, period: str) -> list[str]:
    """Earlier months of the cohort whose sheet is still only a draft (publishing ``period``
    before them leaves its 较上月 without a base)."""
    cohort = get_cohort(db, code=cohort_code)
    return [p for p in sheet_periods(db, cohort=cohort) if p < period
            and published_sheet(db, cohort=cohort, period=p) is None]


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
    """Each org's rank on the previous month's published sheet of the same cohort."""
    before = published_sheet(db, cohort=sheet.cohort, period=previous_period(sheet.period))
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
