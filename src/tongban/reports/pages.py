"""Report pages: pick a report → preview → generate (archived) → download; the archive list."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy.orm import Session

from tongban.assessment import service as assessment
from tongban.core.db import REQUEST_DB, RowId
from tongban.core.errors import DomainError
from tongban.core.listing import ListParams
from tongban.core.periods import quarter_of
from tongban.core.security import Actor
from tongban.core.templating import flash, render, see_other
from tongban.core.workdays import local_today
from tongban.org.access import require_actor
from tongban.reports import service
from tongban.reports.api import file_response
from tongban.reports.enums import ReportFormat, ReportKind, ReportTrigger

router = APIRouter(include_in_schema=False, prefix="/reports")


def _request(kind: ReportKind, as_of: str, cohort: str, period: str) -> service.ReportRequest:
    try:
        day = date.fromisoformat(as_of) if as_of else local_today()
    except ValueError as exc:
        raise DomainError(f"日期「{as_of}」应写作 YYYY-MM-DD") from exc
    if kind is ReportKind.weekly:
        return service.ReportRequest(kind, as_of=day)
    return service.ReportRequest(kind, cohort=cohort, period=period)


def _picker(db: Session, actor: Actor) -> dict[str, Any]:
    choices = assessment.cohort_periods(db)
    quarters = {code: sorted({quarter_of(p) for p in periods})
                for code, periods in choices.items()}
    return {"cohorts": assessment.cohort_names(db, codes=choices),
            "periods": choices, "quarters": quarters, "kinds": ReportKind,
            "today": local_today().isoformat()}


@router.get("", response_class=HTMLResponse)
def reports_page(request: Request, kind: str = "",
                 params: ListParams = Depends(service.REPORTS.params), db: Session = REQUEST_DB,
                 actor: Actor = Depends(require_actor)) -> Response:
    wanted = ReportKind(kind) if kind in ReportKind.__members__ else None
    found = service.list_reports(db, actor=actor, kind=wanted, params=params)
    return render(request, "reports/index.html", {
        **_picker(db, actor), "found": found, "params": params, "kind": kind,
        "triggers": ReportTrigger,
        "intact": {r.id: all(service.verify(r).values()) for r in found.items}})


@router.get("/preview", response_class=HTMLResponse)
def preview(request: Request, kind: ReportKind, as_of: str = "", cohort: str = "",
            period: str = "", db: Session = REQUEST_DB,
            actor: Actor = Depends(require_actor)) -> Response:
    report_request = _request(kind, as_of, cohort, period)
    document = service.build(db, actor=actor, request=report_request)
    return render(request, "reports/preview.html", {
        "doc": document, "link_base": "", "kind": kind, "as_of": as_of, "cohort": cohort,
        "period": period})


@router.post("", response_class=HTMLResponse)
def generate(request: Request, kind: ReportKind = Form(...), as_of: str = Form(""),
             cohort: str = Form(""), period: str = Form(""), db: Session = REQUEST_DB,
             actor: Actor = Depends(require_actor)) -> Response:
    report, created = service.generate(db, actor=actor,
                                       request=_request(kind, as_of, cohort, period))
    flash(request, f"已生成并归档：{report.title}" if created
          else f"数据未变，沿用已归档的版本：{report.title}")
    return see_other(f"/reports/{report.id}")


@router.get("/{report_id}", response_class=HTMLResponse)
def report_page(request: Request, report_id: RowId, db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> Response:
    report = service.get_report(db, actor=actor, report_id=report_id)
    return render(request, "reports/report.html", {
        "report": report, "kind": ReportKind(report.kind), "formats": ReportFormat,
        "trigger": ReportTrigger(report.trigger), "intact": service.verify(report)})


@router.get("/{report_id}/{fmt}")
def download(report_id: RowId, fmt: ReportFormat, db: Session = REQUEST_DB,
             actor: Actor = Depends(require_actor)) -> FileResponse:
    return file_response(db, actor, report_id, fmt)
