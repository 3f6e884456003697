"""数据开放共享 pages: the analyst's overview (departments by quality, key data, cascade
health, trends), a department's page (its datasets, late ones, cells to fix), a dataset's page
(fields, deliveries with their checks, the cascade log), the catalog with its import, export
and edit forms."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tongban.core.config import get_settings
from tongban.core.db import REQUEST_DB
from tongban.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from tongban.core.export import FORMULA_STARTS, file_name
from tongban.core.forms import FORM
from tongban.core.listing import PAGED, ListParams
from tongban.core.periods import month_of, period_label, shift
from tongban.core.security import Actor, Role
from tongban.core.templating import flash, render, see_other
from tongban.core.workdays import local_today
from tongban.datasharing import service, sources
from tongban.datasharing.checks import FieldSpec
from tongban.datasharing.enums import (
    CascadeOutcome,
    FieldFormat,
    FieldType,
    Frequency,
    OpenType,
    ShareType,
)
from tongban.org import service as org_service
from tongban.org.access import require_actor

router = APIRouter(include_in_schema=False, prefix="/datasharing")

def text_cell(value: str) -> str:
    """A CSV cell Excel and WPS will not run as a formula (a leading ' as they write it)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


#: Months the trend charts look back over.
TREND_MONTHS = 12


def _trend(db: Session, actor: Actor, department: Any = None,
           now: list[Any] | None = None) -> dict[str, Any]:
    """归集率, 共享率 and quality at the end of each of the last months (an ECharts option)."""
    today = local_today()
    months = [shift(month_of(today), -n) for n in range(TREND_MONTHS - 1, -1, -1)]
    series: dict[str, list[float | None]] = {"归集率": [], "共享率": [], "开放率": [], "质量得分": []}
    by_month = service.monthly_counts(db, actor=actor, months=months, today=today,
                                      department=department, now=now)
    for month in months:
        found = by_month[month]
        totals = {k: sum(q[k] for q in found) for k in (
            "collected", "should_collect", "shared", "should_share", "opened", "should_open")}
        for name, (top, bottom) in (("归集率", ("collected", "should_collect")),
                                    ("共享率", ("shared", "should_share")),
                                    ("开放率", ("opened", "should_open"))):
            series[name].append(round(100 * totals[top] / totals[bottom], 1)
                                if totals[bottom] else None)
        scores = [q["data_quality"] for q in found]
        series["质量得分"].append(round(sum(scores) / len(scores), 1) if scores else None)
    return {"tooltip": {"trigger": "axis"}, "legend": {"top": 0},
            "grid": {"left": 40, "right": 12, "top": 32, "bottom": 28},
            "xAxis": {"type": "category", "data": [period_label(m) for m in months]},
            "yAxis": {"type": "value", "min": 0, "max": 100},
            "series": [{"name": k, "type": "line", "data": v, "connectNulls": False}
                       for k, v in series.items()]}


@router.get("", response_class=HTMLResponse)
def overview(request: Request, db: Session = REQUEST_DB,
             actor: Actor = Depends(require_actor)) -> Response:
    """The analyst's overview; a liaison goes to its department's page."""
    service.require_data_area(actor)
    if actor.role is Role.liaison and actor.org_id is not None:
        own = org_service.own_org(db, actor)
        if own is not None:
            return see_other(f"/datasharing/departments/{own.code}")
    today = local_today()
    found = service.department_quality(db, actor=actor, as_of=today)
    datasets = [q for d in found for q in d.datasets]
    cascade = service.states(db, datasets=service.to_share([q.dataset for q in datasets]))
    failing = [c for c in cascade if not c.healthy]
    at_risk = []
    if failing and actor.can_manage:
        city = org_service.resolve_org(db, ref=get_settings().city_code)
        at_risk = service.points_at_risk(db, org=city, period=month_of(today),
                                         failing=len(failing), to_share=len(cascade))
    return render(request, "datasharing/overview.html", {
        "departments": [(q, service.rates(q.counts())) for q in found],
        "key": [q for q in datasets if q.key], "failing": failing, "at_risk": at_risk,
        "cascade_total": len(cascade),
        "last_push": max((c.state.last_success_at for c in cascade
                          if c.state and c.state.last_success_at), default=None),
        "trend": _trend(db, actor, now=found), "today": today,
        "may_edit": actor.can_manage})


@router.get("/departments/{code}", response_class=HTMLResponse)
def department_page(request: Request, code: str, db: Session = REQUEST_DB,
                    actor: Actor = Depends(require_actor)) -> Response:
    service.require_data_area(actor)
    department = org_service.resolve_org(db, ref=code[:32], actor=actor)
    today = local_today()
    quality = service.department_quality(db, actor=actor, department=department, as_of=today)
    found = quality[0] if quality else None
    if found is None:
        return render(request, "datasharing/department.html", {
            "department": department, "found": None, "today": today})
    counts = found.counts()
    at_risk = service.points_at_risk(
        db, org=department, period=month_of(today),
        failing=int(counts["should_share"] - counts["shared"]), to_share=int(counts["should_share"]))
    return render(request, "datasharing/department.html", {
        "department": department, "found": found, "rates": service.rates(counts),
        "at_risk": at_risk,
        "late": [q for q in found.datasets if not q.freshness.on_schedule],
        "to_fix": [q for q in found.datasets if q.latest is not None
                   and (q.latest.invalid_cells or q.latest.missing_required
                        or q.latest.duplicate_keys)],
        "trend": _trend(db, actor, department, now=quality), "today": today,
        "frequency": {f.value: f.label for f in Frequency}})


@router.get("/datasets/{code}", response_class=HTMLResponse)
def dataset_page(request: Request, code: str, params: ListParams = Depends(PAGED.params),
                 db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    dataset = service.get_dataset(db, actor=actor, code=code)
    [quality] = service.dataset_quality(db, datasets=[dataset], as_of=local_today())
    [cascade] = service.states(db, datasets=[dataset])
    return render(request, "datasharing/dataset.html", {
        "dataset": dataset, "quality": quality, "cascade": cascade,
        "deliveries": service.deliveries(db, actor=actor, dataset=dataset, params=params),
        "attempts": service.attempts(db, dataset=dataset, params=ListParams(page_size=20)).items,
        "outcomes": CascadeOutcome, "enums": _enums(), "params": params,
        "may_deliver": actor.can_manage or (actor.role is Role.liaison
                                            and actor.org_id == dataset.department_id),
        "may_edit": actor.can_manage, "today_year": local_today().year,
        "pull_shown": sources.shown(dataset.pull_url),
        "shares": ShareType(dataset.share_type) is not ShareType.none})


@router.post("/datasets/{code}/deliveries", response_class=HTMLResponse)
def deliver(request: Request, code: str, file: UploadFile = File(...),
            db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    """An upload from the dataset's page: checked, recorded, the result shown on the page."""
    try:
        done = service.deliver(db, actor=actor, dataset_code=code, source=file.file,
                               filename=file.filename or "交付文件")
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        flash(request, ValidationFailed.of(exc).summary or exc.message, "error")
        return see_other(f"/datasharing/datasets/{code}")
    check = done.check
    flash(request, f"已交付 {check.rows} 行：无效 {check.invalid_cells} 格，必填为空 "
                   f"{check.missing_required} 格，主键重复 {check.duplicate_keys} 行，得分 {check.score}"
          + (f"；行数比上次减少 {done.drop:.0%}，请核实" if done.drop else ""))
    return see_other(f"/datasharing/datasets/{code}")


def _enums() -> dict[str, Any]:
    return {"frequency": Frequency, "share": ShareType, "open": OpenType, "type": FieldType,
            "format": FieldFormat}


@router.get("/catalog", response_class=HTMLResponse)
def catalog_page(request: Request, params: ListParams = Depends(service.DATASETS.params),
                 db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> Response:
    return render(request, "datasharing/catalog.html", {
        "found": service.list_datasets(db, actor=actor, params=params), "params": params,
        "enums": _enums(), "may_edit": actor.can_manage})


@router.get("/catalog/{part}.csv")
def catalog_csv(part: str, db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> Response:
    """The catalog (``datasets``) or its fields (``fields``) as the import reads them."""
    catalog, fields = service.catalog_rows(db, actor=actor)
    rows, name = {"datasets": (catalog, "数据资源目录"), "fields": (fields, "数据资源字段")}.get(
        part, (None, ""))
    if rows is None:
        raise NotFound("只提供 datasets.csv 和 fields.csv")
    out = io.StringIO()
    csv.writer(out).writerows([[text_cell(c) for c in row] for row in rows])
    return Response(("\ufeff" + out.getvalue()).encode(), media_type="text/csv", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(file_name(name))}.csv",
        "Cache-Control": "no-store"})


@router.post("/catalog/import", response_class=HTMLResponse)
def catalog_import(request: Request, catalog: UploadFile = File(...),
                   fields: UploadFile = File(...), params: ListParams = Depends(
                       service.DATASETS.params), db: Session = REQUEST_DB,
                   actor: Actor = Depends(require_actor)) -> Response:
    try:
        done = service.import_catalog(db, actor=actor, catalog=catalog.file, fields=fields.file,
                                      catalog_name=catalog.filename or "目录文件",
                                      fields_name=fields.filename or "字段文件")
    except PermissionDenied:
        raise
    except DomainError as exc:
        return render(request, "datasharing/catalog.html", {
            "found": service.list_datasets(db, actor=actor, params=params), "params": params,
            "enums": _enums(), "may_edit": actor.can_manage,
            "failure": ValidationFailed.of(exc)}, status_code=exc.status_code)
    flash(request, f"已导入数据资源目录：新增 {done.added} 个，更新 {done.changed} 个，"
                   f"未变 {done.unchanged} 个")
    return see_other("/datasharing/catalog")


#: Blank field rows a new dataset's form offers.
FORM_FIELDS = 12


@router.get("/catalog/edit", response_class=HTMLResponse)
def dataset_form(request: Request, code: str = "", db: Session = REQUEST_DB,
                 actor: Actor = Depends(require_actor)) -> Response:
    service.require_data_area(actor)
    if not actor.can_manage:
        raise PermissionDenied("只有考核管理员或系统管理员可以编辑数据资源目录")
    dataset = service.get_dataset(db, actor=actor, code=code) if code else None
    return render(request, "datasharing/dataset_form.html", {
        "dataset": dataset, "enums": _enums(), "blank": FORM_FIELDS, "form": {},
        "pull_shown": sources.shown(dataset.pull_url) if dataset else ""})


@router.post("/catalog/edit", response_class=HTMLResponse)
def dataset_save(request: Request, form: FormData = FORM, db: Session = REQUEST_DB,
                 actor: Actor = Depends(require_actor)) -> Response:
    values = {k: str(form.get(k, ""))[:300] for k in (
        "code", "name", "department", "frequency", "share_type", "open_type", "business",
        "pull_table")}
    names = [str(v)[:100] for v in form.getlist("field_name")]
    types = [str(v) for v in form.getlist("field_type")]
    formats = [str(v) for v in form.getlist("field_format")]
    flags = {key: {str(v) for v in form.getlist(key)} for key in ("field_required", "field_key")}
    try:
        specs = [FieldSpec(name.strip(), FieldType(types[n]) if types[n] in FieldType._value2member_map_
                           else FieldType.text, str(n) in flags["field_required"],
                           FieldFormat(formats[n]) if formats[n] in FieldFormat._value2member_map_
                           else FieldFormat.none, str(n) in flags["field_key"])
                 for n, name in enumerate(names) if name.strip() and n < len(types)
                 and n < len(formats)]
        dataset = service.save_dataset(db, actor=actor, fields=specs, given=service.DatasetInput(
            code=values["code"].strip(), name=values["name"],
            department=values["department"], frequency=_choice(Frequency, values["frequency"]),
            share_type=_choice(ShareType, values["share_type"]),
            open_type=_choice(OpenType, values["open_type"]),
            key_data=form.get("key_data") == "1", business=values["business"],
            pull_url="" if form.get("pull_clear") == "1" else (
                str(form.get("pull_url", "")).strip()[:600] or None),
            pull_table=str(form.get("pull_table", ""))[:200]))
    except PermissionDenied:
        raise
    except DomainError as exc:
        return render(request, "datasharing/dataset_form.html", {
            "dataset": None, "enums": _enums(), "blank": FORM_FIELDS, "form": values,
            "failure": ValidationFailed.of(exc)}, status_code=exc.status_code)
    flash(request, f"已保存数据集「{dataset.name}」")
    return see_other(f"/datasharing/datasets/{dataset.code}")


def _choice(choice: Any, value: str) -> Any:
    if value not in choice._value2member_map_:
        raise DomainError(f"「{value[:20]}」不是可选值")
    return choice(value)


@router.post("/cascade/retry")
def cascade_retry(request: Request, db: Session = REQUEST_DB,
                  actor: Actor = Depends(require_actor)) -> Response:
    """Push every failing dataset again (the analyst, after the platform or the standard was
    fixed)."""
    service.require_data_area(actor)
    if not actor.can_manage:
        raise PermissionDenied("只有考核管理员或系统管理员可以重新推送")
    queued = service.retry_failed(db, actor=actor)
    flash(request, f"已重新排队推送 {queued} 个级联失败的数据集")
    return see_other("/datasharing")
