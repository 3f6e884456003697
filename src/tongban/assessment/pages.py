"""Assessment pages: league table, org page with charts and what-if, schemes, imports."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from tongban.assessment import analysis, importers, service
from tongban.assessment.enums import Grade, SheetAction, SheetStatus
from tongban.assessment.models import Adjustment, ScoreLine, ScoreSheet
from tongban.core.db import REQUEST_DB, RowId
from tongban.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from tongban.core.export import Field, xlsx_download, xlsx_response
from tongban.core.listing import ListParams
from tongban.core.periods import period_label
from tongban.core.security import Actor
from tongban.core.tabular import cell_number, decode_text
from tongban.core.templating import flash, render, see_other
from tongban.org import service as org_service
from tongban.org.access import require_actor
from tongban.org.models import Cohort

router = APIRouter(include_in_schema=False, prefix="/assessment")


def _pick(db: Session, actor: Actor, cohort: str | None,
          period: str | None) -> tuple[str | None, str | None, dict[str, list[str]]]:
    choices = service.cohort_periods(db, actor=actor)
    if not choices:
        return None, None, choices
    if cohort not in choices:
        cohort = service.home_cohort(db, actor=actor, codes=choices)
        assert cohort is not None
    periods = choices[cohort]
    if period not in periods:
        period = periods[-1]
    return cohort, period, choices


@router.get("", response_class=HTMLResponse)
def league_table(
    request: Request,
    cohort: str | None = None,
    period: str | None = None,
    q: str = "",
    grade: str = "",
    format: str = "",
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    asked = (period or "").strip()
    cohort, period, choices = _pick(db, actor, cohort, period)
    if cohort is None or period is None:
        return render(request, "assessment/league.html", {"sheet": None, "choices": choices})
    if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", asked) and asked != period:
        # the month asked for has no sheet: say so, never show another month in its place
        return render(request, "assessment/league.html", {
            "sheet": None, "choices": choices, "cohort": cohort, "missing": period_label(asked),
            "cohorts": service.cohort_names(db, codes=choices)})
    sheet = service.require_sheet(db, cohort_code=cohort, period=period, actor=actor)
    lines = service.visible_lines(db, actor=actor, sheet=sheet, q=q[:100],
                                  grade=Grade(grade) if grade in Grade.__members__ else None)
    before = service.previous_ranks(db, sheet=sheet)
    rows = [{"line": ln, "change": before[ln.org_id] - ln.rank if ln.org_id in before else None,
             "grade": Grade(ln.grade)} for ln in lines]
    if format == "xlsx":  # a cohort's lines, at most a few dozen: no cap needed
        title = f"{sheet.cohort.name}{period_label(period)}排名"
        return xlsx_response(rows, _league_fields(sheet), title=title)
    cohorts = service.cohort_names(db, codes=choices)
    return render(request, "assessment/league.html", {
        "q": q, "grade": grade, "grades": Grade,
        "sheet": sheet, "rows": rows, "choices": choices, "cohort": cohort, "period": period,
        "cohorts": cohorts, "period_label": period_label(period),
        "alerts": analysis.alerts(db, actor=actor, cohort_code=cohort, period=period)[:12],
        "statuses": SheetStatus, "sheet_actions": SheetAction,
        "allowed": service.allowed_sheet_actions(db, actor=actor, cohort_code=cohort,
                                                 period=period),
    })


def _league_fields(sheet: ScoreSheet) -> list[Field[dict[str, Any]]]:
    """The league table as exported: the page's columns, and the sheet's status on each row
    (a draft says 草稿)."""
    status = SheetStatus(sheet.status).label
    return [
        Field("名次", lambda r: r["line"].rank),
        Field("名次变化", lambda r: r["change"]),
        Field("单位", lambda r: r["line"].org.name),
        Field("指标得分", lambda r: r["line"].indicator_total),
        Field("加扣分", lambda r: r["line"].adjustment_total),
        Field("总分", lambda r: r["line"].total),
        Field("等次", lambda r: r["grade"].label),
        Field("第一方阵", lambda r: r["line"].leading),
        Field("成绩单状态", lambda r: status),
    ]


@router.post("/sheets/compute")
def sheet_compute_month(request: Request, cohort: str = Form(...), period: str = Form(...),
                        db: Session = REQUEST_DB,
                        actor: Actor = Depends(require_actor)) -> Response:
    """Score a month from the pages, a new one too (the month picker of the league page)."""
    return sheet_action(request, cohort=cohort, period=period.strip()[:7],
                        action=SheetAction.compute, db=db, actor=actor)


@router.post("/sheets/{cohort}/{period}/{action}")
def sheet_action(
    request: Request,
    cohort: str,
    period: str,
    action: SheetAction,
    reason: str = Form(""),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    back = f"/assessment?cohort={quote(cohort)}&period={quote(period)}"
    try:
        if action is SheetAction.compute:
            sheet = service.compute_sheet(db, actor=actor, cohort_code=cohort, period=period)
            flash(request, f"已计算{sheet.cohort.name}{period_label(period)}成绩单草稿"
                           f"（{len(sheet.lines)}个单位），核对后发布")
        elif action is SheetAction.publish:
            sheet = service.publish_sheet(db, actor=actor, cohort_code=cohort, period=period)
            flash(request, f"已发布第{sheet.revision}版，哈希 {sheet.content_hash[:12]}…")
            drafts = service.drafts_before(db, cohort_code=cohort, period=period)
            if drafts:
                flash(request, "、".join(period_label(p) for p in drafts)
                      + "的成绩单仍是草稿：按月份先后发布；在其发布前，本月不与草稿比较“较上月”",
                      "error")
        else:
            sheet = service.correct_sheet(db, actor=actor, cohort_code=cohort, period=period,
                                          reason=reason)
            flash(request, f"已生成更正草稿第{sheet.revision}版；核对后发布", "info")
    except ValidationFailed as exc:
        flash(request, str(exc), "error")
    except DomainError as exc:
        flash(request, exc.message, "error")
    return see_other(back)


def _trend_chart(points: list[analysis.TrendPoint], count: int) -> dict[str, Any]:
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 40, "right": 48, "top": 30, "bottom": 30},
        "legend": {"data": ["名次", "总分"], "top": 0},
        "xAxis": {"type": "category", "data": [period_label(p.period) for p in points]},
        "yAxis": [
            {"type": "value", "name": "名次", "inverse": True, "min": 1, "max": count,
             "minInterval": 1},
            {"type": "value", "name": "总分", "scale": True, "splitLine": {"show": False}},
        ],
        "series": [
            {"name": "名次", "type": "line", "data": [p.rank for p in points],
             "label": {"show": True, "formatter": "第{c}名"}, "itemStyle": {"color": "#1d4f91"},
             "symbolSize": 9},
            {"name": "总分", "type": "bar", "yAxisIndex": 1, "barMaxWidth": 28,
             "data": [round(p.total, 2) for p in points], "itemStyle": {"color": "#c9d7ec"}},
        ],
    }


def _gap_chart(gaps: list[analysis.IndicatorGap]) -> dict[str, Any]:
    top = sorted((g for g in gaps if g.gap_to_leader > 0), key=lambda g: -g.gap_to_leader)[:12]
    top.reverse()
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 8, "right": 24, "top": 24, "bottom": 24, "containLabel": True},
        "legend": {"data": ["与第一名差距", "与中位数差距"], "top": 0},
        "xAxis": {"type": "value", "name": "分"},
        "yAxis": {"type": "category", "data": [f"{g.code} {g.name}" for g in top]},
        "series": [
            {"name": "与第一名差距", "type": "bar", "data": [g.gap_to_leader for g in top],
             "itemStyle": {"color": "#c0392b"}},
            {"name": "与中位数差距", "type": "bar", "data": [g.gap_to_median for g in top],
             "itemStyle": {"color": "#e6b0aa"}},
        ],
    }


def _org_context(db: Session, actor: Actor, sheet: ScoreSheet, line: ScoreLine) -> dict[str, Any]:
    definition = service.scheme_definition(sheet.scheme)
    view = service.view_of(db, sheet=sheet, actor=actor)
    row = view.row_of(line.org_id)
    assert row is not None
    gaps = analysis.indicator_gaps(view, row)
    trend = analysis.trend(db, actor=actor, cohort_code=sheet.cohort.code, org_ref=line.org.code)
    leading = sum(1 for ln in sheet.lines if ln.leading)
    categories = []
    for category in definition.categories:
        items = [g for g in gaps if g.category == category.name]
        categories.append({"code": category.code, "name": category.name,
                           "max": category.max_points,
                           "points": round(sum(g.points for g in items), 4),
                           "lost": round(sum(g.lost for g in items), 4), "gaps": items})
    return {
        "sheet": sheet, "line": line, "grade": Grade(line.grade),
        "period_label": period_label(sheet.period),
        "lost": analysis.points_lost(gaps)[:15],
        "categories": categories,
        "to_first": analysis.points_to_rank(view, row, 1),
        "to_leading": analysis.points_to_rank(view, row, leading),
        "leading": leading,
        "trend_chart": _trend_chart(trend, len(sheet.lines)),
        "gap_chart": _gap_chart(gaps),
        "indicators": [(i.code, i.name) for _, i in definition.indicators()],
        "metrics": sorted({m for _, i in definition.indicators() if i.rule.type != "given"
                           for m in i.metrics()}),
        "notes": line.items.get("_notes", {}).get("notes", []),
    }


@router.get("/{cohort}/{period}/orgs/{code}", response_class=HTMLResponse)
def org_page(
    request: Request, cohort: str, period: str, code: str, db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    sheet = service.require_sheet(db, cohort_code=cohort, period=period, actor=actor)
    line = service.line_of(db, actor=actor, sheet=sheet, org_ref=code)
    return render(request, "assessment/org.html", _org_context(db, actor, sheet, line))


@router.post("/{cohort}/{period}/orgs/{code}/whatif", response_class=HTMLResponse)
def org_whatif(
    request: Request, cohort: str, period: str, code: str,
    drop: list[str] = Form([]), indicator_code: str = Form(""), indicator_value: str = Form(""),
    metric_code: str = Form(""), metric_value: str = Form(""), db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    dropped = [int(v) for v in drop if v.isascii() and v.isdecimal() and len(v) <= 18]
    set_points: dict[str, float] = {}
    set_metrics: dict[str, float] = {}
    errors = []
    for name, value, target in ((indicator_code, indicator_value, set_points),
                                (metric_code, metric_value, set_metrics)):
        if name and value:
            number = cell_number(value)
            if number is None:
                errors.append(f"「{value}」不是有限的数字")
            else:
                target[name] = number
    result = None
    if not errors:
        try:
            result = analysis.whatif(db, actor=actor, cohort_code=cohort, period=period,
                                     org_ref=code, drop_adjustments=dropped,
                                     set_points=set_points, set_metrics=set_metrics)
        except DomainError as exc:
            errors.append(exc.message)
    return render(request, "assessment/_whatif.html", {"result": result, "errors": errors})


def _schemes(db: Session, actor: Actor, params: ListParams) -> dict[str, Any]:
    """The page of the scheme list, and every version (bounded) for the diff picker."""
    found = service.list_schemes(db, actor=actor, params=params)
    return {"found": found, "params": params,
            "cohort_names": service.cohort_names(db, codes={c for s in found.items
                                                            for c in s.cohorts}),
            "schemes": service.list_schemes(db, actor=actor, params=ListParams.for_choices()).items}


@router.get("/schemes", response_class=HTMLResponse)
def scheme_list(request: Request, params: ListParams = Depends(service.SCHEMES.params),
                db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    return render(request, "assessment/schemes.html", _schemes(db, actor, params))


@router.get("/schemes/diff", response_class=HTMLResponse)
def scheme_diff(request: Request, old: str, new: str, db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> Response:
    changes = service.diff(db, actor=actor, old_ref=old, new_ref=new)
    return render(request, "assessment/scheme_diff.html",
                  {"changes": changes, "old": old, "new": new,
                   "schemes": service.list_schemes(db, actor=actor,
                                                   params=ListParams.for_choices()).items})


@router.get("/schemes/{code}/{version}/template.xlsx")
def scheme_template(code: str, version: str, db: Session = REQUEST_DB,
                    actor: Actor = Depends(require_actor)) -> Response:
    """The province sheet's template for a scheme: filled in, it imports as is."""
    return xlsx_download(*importers.sheet_template(db, actor=actor,
                                                   scheme_ref=f"{code}@{version}"))


@router.get("/schemes/{code}/{version}", response_class=HTMLResponse)
def scheme_detail(request: Request, code: str, version: str, db: Session = REQUEST_DB,
                  actor: Actor = Depends(require_actor)) -> Response:
    scheme = service.get_scheme(db, actor=actor, ref=f"{code}@{version}")
    return render(request, "assessment/scheme.html",
                  {"scheme": scheme, "definition": service.scheme_definition(scheme),
                   "cohort_names": service.cohort_names(db, codes=scheme.cohorts)})


@router.post("/schemes", response_class=HTMLResponse)
def scheme_upload(request: Request, file: UploadFile = File(...),
                        db: Session = REQUEST_DB,
                        actor: Actor = Depends(require_actor)) -> Response:
    raw = file.file.read()
    try:
        text = decode_text(raw, filename=file.filename or "方案.yaml")
        scheme, created = service.load_scheme(db, actor=actor, text=text,
                                              filename=file.filename or "")
    except ValidationFailed as exc:
        return render(request, "assessment/schemes.html",
                      {**_schemes(db, actor, ListParams()), "failure": exc}, status_code=422)
    flash(request, f"{'已加载' if created else '内容相同，未重复加载'} {scheme.code}@{scheme.version}")
    return see_other(f"/assessment/schemes/{scheme.code}/{scheme.version}")


def _cohort_choices(db: Session, actor: Actor) -> list[Cohort]:
    return org_service.list_cohorts(db, actor=actor, params=ListParams.for_choices()).items


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request, db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> Response:
    return render(request, "assessment/import.html", {
        "recent": importers.recent_imports(db, actor=actor),
        "cohorts": _cohort_choices(db, actor)})


@router.post("/import", response_class=HTMLResponse)
def import_upload(
    request: Request,
    file: UploadFile = File(...),
    cohort: str = Form(""),
    period: str = Form(""),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    # The import is the request's first statement: it reads the file before it begins.
    try:
        report = importers.import_file(db, actor=actor, source=file.file, filename=file.filename,
                                       cohort_code=cohort or None, period=period or None)
    except DomainError as exc:
        context = _import_context(db, actor, cohort, period)
        return render(request, "assessment/import.html",
                      {**context, "failure": ValidationFailed.of(exc)},
                      status_code=exc.status_code)
    return render(request, "assessment/import.html",
                  {**_import_context(db, actor, cohort, period), "report": report})


def _import_context(db: Session, actor: Actor, cohort: str, period: str) -> dict[str, Any]:
    return {"cohorts": _cohort_choices(db, actor), "form": {"cohort": cohort, "period": period},
            "recent": importers.recent_imports(db, actor=actor)}


#: The adjustments as exported: what the page shows, with the org's name.
ADJUSTMENT_FIELDS: list[Field[Adjustment]] = [
    Field("编号", lambda a: a.id),
    Field("考核期", lambda a: period_label(a.period)),
    Field("单位", lambda a: a.org.name),
    Field("分值", lambda a: a.points),
    Field("原因", lambda a: a.reason),
    Field("指标代码", lambda a: a.indicator_code or ""),
    Field("来源", lambda a: a.source),
    Field("来源编号", lambda a: a.source_ref),
    Field("录入人", lambda a: a.created_by),
    Field("录入时间", lambda a: a.created_at),
    Field("状态", lambda a: "已撤销" if a.voided_at else "有效"),
    Field("撤销原因", lambda a: a.void_reason),
]


@router.get("/adjustments", response_class=HTMLResponse)
def adjustment_list(request: Request, period: str = "", org: str = "", format: str = "",
                    params: ListParams = Depends(service.ADJUSTMENTS.params),
                    db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    params = replace(params, sort=params.sort or "-period")  # the page shows the newest first
    target = org_service.resolve_org(db, ref=org, actor=actor) if org else None
    found = service.list_adjustments(
        db, actor=actor, period=period or None, org=target, include_voided=True,
        params=params.for_export() if format == "xlsx" else params)
    if format == "xlsx":
        return xlsx_response(found.items, ADJUSTMENT_FIELDS, title="加扣分记录")
    return render(request, "assessment/adjustments.html",
                  {"found": found, "params": params, "period": period, "org": target})


@router.post("/adjustments", response_class=HTMLResponse)
def adjustment_create(
    request: Request,
    period: str = Form(...),
    org: str = Form(...),
    points: float = Form(...),
    reason: str = Form(...),
    indicator_code: str = Form(""),
    source_url: str = Form(""),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    try:
        target = org_service.resolve_org(db, ref=org, actor=actor)
        adjustment, _ = service.record_adjustment(
            db, actor=actor, period=period, org=target, points=points, reason=reason,
            indicator_code=indicator_code or None, source_url=source_url)
    except DomainError as exc:
        flash(request, exc.message, "error")
        return see_other("/assessment/adjustments")
    flash(request, f"已录入 #{adjustment.id}（{adjustment.points:+g}）；重新计算成绩单后生效")
    return see_other(f"/assessment/adjustments?period={period}")


@router.post("/adjustments/{adjustment_id}/void")
def adjustment_void(request: Request, adjustment_id: RowId, reason: str = Form(""),
                    db: Session = REQUEST_DB,
                    actor: Actor = Depends(require_actor)) -> Response:
    try:
        service.void_adjustment(db, actor=actor, adjustment_id=adjustment_id, reason=reason)
        flash(request, f"已撤销 #{adjustment_id}；重新计算成绩单后生效")
    except (PermissionDenied, NotFound):
        raise  # not the actor's to void: no page to go back to
    except DomainError as exc:
        flash(request, exc.message, "error")
    return see_other("/assessment/adjustments")
