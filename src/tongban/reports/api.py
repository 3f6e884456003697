"""JSON API of reports under /api/v1/reports (thin: rules live in ``service``)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Response, status
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from tongban.core.db import REQUEST_DB, RowId
from tongban.core.export import file_responses
from tongban.core.listing import ListParams, PageOut, page_out
from tongban.core.middleware import REPORT_CONTENT_SECURITY_POLICY
from tongban.core.security import Actor
from tongban.org.access import require_actor
from tongban.reports import service
from tongban.reports.enums import ReportFormat, ReportKind, ReportTrigger
from tongban.reports.models import Report
from tongban.reports.schemas import ReportCreate, ReportFileRead, ReportRead

router = APIRouter(prefix="/reports")


def report_read(report: Report, created: bool = False) -> ReportRead:
    intact = service.verify(report)
    return ReportRead(
        id=report.id, kind=ReportKind(report.kind), title=report.title, number=report.doc_number,
        scope=report.scope,
        period=report.period_key, trigger=ReportTrigger(report.trigger),
        generated_by=report.generated_by, generated_at=report.generated_at, created=created,
        files=[ReportFileRead(format=ReportFormat(f.format), size=f.size, sha256=f.sha256,
                              intact=intact[f.format],
                              url=f"/api/v1/reports/{report.id}/files/{f.format}")
               for f in report.files])


@router.get("", response_model=PageOut[ReportRead], summary="已归档的通报（新的在前）")
def list_reports(response: Response, kind: ReportKind | None = None,
                 params: ListParams = Depends(service.REPORTS.params), db: Session = REQUEST_DB,
                 actor: Actor = Depends(require_actor)) -> PageOut[ReportRead]:
    found = service.list_reports(db, actor=actor, kind=kind, params=params)
    return page_out(response, found.map(report_read))


@router.post("", response_model=ReportRead, status_code=status.HTTP_201_CREATED,
             summary="生成并归档通报（内容未变时返回已归档的那份）",
             responses={200: {"model": ReportRead, "description": "内容未变：已归档的那份"}})
def generate(body: ReportCreate, response: Response, db: Session = REQUEST_DB,
             actor: Actor = Depends(require_actor)) -> ReportRead:
    report, created = service.generate(db, actor=actor, request=service.ReportRequest(
        body.kind, as_of=body.as_of, cohort=body.cohort, period=body.period))
    if not created:
        response.status_code = status.HTTP_200_OK
    return report_read(report, created)


@router.get("/{report_id}", response_model=ReportRead, summary="一份通报及其文件哈希")
def get_report(report_id: RowId, db: Session = REQUEST_DB,
               actor: Actor = Depends(require_actor)) -> ReportRead:
    return report_read(service.get_report(db, actor=actor, report_id=report_id))


@router.get("/{report_id}/files/{fmt}", summary="下载通报文件（docx / xlsx / html）",
            response_class=Response,
            responses=file_responses(*(f.media_type for f in ReportFormat), description="通报文件"))
def download(report_id: RowId, fmt: ReportFormat, db: Session = REQUEST_DB,
             actor: Actor = Depends(require_actor)) -> FileResponse:
    return file_response(db, actor, report_id, fmt)


def file_response(db: Session, actor: Actor, report_id: int, fmt: ReportFormat) -> FileResponse:
    """The archived file; the HTML opens in the browser, the others download."""
    _, path, name = service.report_file(db, actor=actor, report_id=report_id, fmt=fmt)
    disposition = "inline" if fmt is ReportFormat.html else "attachment"
    return FileResponse(path, media_type=fmt.media_type, headers={
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name)}",
        "Content-Security-Policy": REPORT_CONTENT_SECURITY_POLICY})
