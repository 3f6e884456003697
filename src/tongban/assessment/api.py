"""JSON API of the assessment under /api/v1/assessment (thin: rules live in the services)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile, status
from sqlalchemy.orm import Session

from tongban.assessment import analysis, importers, service
from tongban.assessment.enums import Grade
from tongban.assessment.models import Adjustment, Scheme, ScoreSheet
from tongban.assessment.schemas import (
    AdjustmentCreate,
    AdjustmentRead,
    AlertRead,
    CorrectionCreate,
    ImportReportRead,
    IndicatorChangeRead,
    MetricBatch,
    MetricBatchResult,
    RankRow,
    SchemeDetail,
    SchemeLoad,
    SchemeLoaded,
    SchemeRead,
    SheetRead,
    TotalRank,
    TrendRead,
    VoidRequest,
    WhatIfRead,
    WhatIfRequest,
)
from tongban.core import privacy
from tongban.core.db import REQUEST_DB, RowId
from tongban.core.listing import ListParams, Page, PageOut, page_out
from tongban.core.security import Actor
from tongban.org import service as org_service
from tongban.org.access import require_actor

router = APIRouter(prefix="/assessment")


def scheme_read(scheme: Scheme) -> SchemeRead:
    return SchemeRead(
        code=scheme.code, version=scheme.version, name=scheme.name, issuer=scheme.issuer,
        effective_from=scheme.effective_from, effective_to=scheme.effective_to,
        cohorts=scheme.cohorts, total_points=scheme.total_points,
        indicator_count=scheme.indicator_count, content_hash=scheme.content_hash,
    )


def sheet_read(sheet: ScoreSheet) -> SheetRead:
    return SheetRead(
        cohort=sheet.cohort.code, period=sheet.period, revision=sheet.revision,
        status=sheet.status, scheme=f"{sheet.scheme.code}@{sheet.scheme.version}",
        orgs=len(sheet.lines), content_hash=sheet.content_hash or None,
        correction_reason=sheet.correction_reason,
    )


def adjustment_read(a: Adjustment) -> AdjustmentRead:
    return AdjustmentRead(
        id=a.id, period=a.period, org_code=a.org.code, org_name=a.org.name, points=a.points,
        reason=privacy.mask_text(a.reason), indicator_code=a.indicator_code, scheme_code=a.scheme_code,
        source=a.source, source_ref=a.source_ref, source_url=a.source_url,
        voided=a.voided_at is not None,
    )


@router.get("/schemes", response_model=PageOut[SchemeRead], summary="考核方案列表")
def list_schemes(response: Response, params: ListParams = Depends(service.SCHEMES.params),
                 db: Session = REQUEST_DB,
                 actor: Actor = Depends(require_actor)) -> PageOut[SchemeRead]:
    return page_out(response, service.list_schemes(db, actor=actor, params=params).map(scheme_read))


@router.post("/schemes", response_model=SchemeLoaded, status_code=status.HTTP_201_CREATED,
             summary="加载考核方案 YAML")
def load_scheme(body: SchemeLoad, db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> SchemeLoaded:
    scheme, created = service.load_scheme(db, actor=actor, text=body.yaml,
                                          filename=body.filename)
    return SchemeLoaded(scheme=scheme_read(scheme), created=created)


@router.get("/schemes/{code}/{version}", response_model=SchemeDetail, summary="考核方案内容")
def read_scheme(code: str, version: str, db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> SchemeDetail:
    scheme = service.get_scheme(db, actor=actor, ref=f"{code}@{version}")
    return SchemeDetail(**scheme_read(scheme).model_dump(), content=scheme.content)


@router.get("/scheme-diff", response_model=PageOut[IndicatorChangeRead],
            summary="方案版本对比（一次给全：至多两版的指标数）")
def scheme_diff(response: Response, old: str, new: str, db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> PageOut[IndicatorChangeRead]:
    return page_out(response, Page.whole([
        IndicatorChangeRead(code=c.code, name=c.name, change=c.change, label=c.label,
                            old_points=c.old_points, new_points=c.new_points, detail=c.detail)
        for c in service.diff(db, actor=actor, old_ref=old, new_ref=new)]))


@router.post("/imports", response_model=ImportReportRead, status_code=status.HTTP_201_CREATED,
             summary="导入考核通报或数据项（CSV/XLSX）")
def import_file(
    file: UploadFile = File(...),
    cohort: str | None = Form(None),
    period: str | None = Form(None),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> ImportReportRead:
    report = importers.import_file(db, actor=actor, source=file.file, filename=file.filename,
                                   cohort_code=cohort or None, period=period or None)
    return ImportReportRead(**report.as_dict())


@router.post("/metrics", response_model=MetricBatchResult, summary="写入数据项")
def write_metrics(body: MetricBatch, db: Session = REQUEST_DB,
                  actor: Actor = Depends(require_actor)) -> MetricBatchResult:
    rows = [v.model_dump() for v in body.values]
    changed = importers.record_metric_rows(db, actor=actor, rows=rows, source=body.source)
    return MetricBatchResult(received=len(rows), changed=changed)


@router.post("/sheets/{cohort}/{period}/compute", response_model=SheetRead,
             summary="计算成绩单草稿")
def compute_sheet(cohort: str, period: str, db: Session = REQUEST_DB,
                  actor: Actor = Depends(require_actor)) -> SheetRead:
    return sheet_read(service.compute_sheet(db, actor=actor, cohort_code=cohort, period=period))


@router.post("/sheets/{cohort}/{period}/publish", response_model=SheetRead,
             summary="发布成绩单")
def publish_sheet(cohort: str, period: str, db: Session = REQUEST_DB,
                  actor: Actor = Depends(require_actor)) -> SheetRead:
    return sheet_read(service.publish_sheet(db, actor=actor, cohort_code=cohort, period=period))


@router.post("/sheets/{cohort}/{period}/corrections", response_model=SheetRead,
             status_code=status.HTTP_201_CREATED, summary="更正已发布的成绩单")
def correct_sheet(cohort: str, period: str, body: CorrectionCreate,
                  db: Session = REQUEST_DB,
                  actor: Actor = Depends(require_actor)) -> SheetRead:
    return sheet_read(service.correct_sheet(db, actor=actor, cohort_code=cohort, period=period,
                                            reason=body.reason))


@router.get("/sheets/{cohort}/{period}/rank", response_model=PageOut[RankRow],
            summary="排名表（一次给全：分组的单位数）")
def rank(response: Response, cohort: str, period: str,
         q: str = Query("", max_length=100, description="单位名称或代码中的文字"),
         grade: Grade | None = Query(None, description="等次"),
         db: Session = REQUEST_DB,
         actor: Actor = Depends(require_actor)) -> PageOut[RankRow]:
    sheet = service.require_sheet(db, cohort_code=cohort, period=period, actor=actor)
    before = service.previous_ranks(db, sheet=sheet)
    return page_out(response, Page.whole([
        RankRow(org_code=ln.org.code, org_name=ln.org.name, total=round(ln.total, 4),
                rank=ln.rank, grade=Grade(ln.grade), leading=ln.leading,
                rank_change=before[ln.org_id] - ln.rank if ln.org_id in before else None)
        for ln in service.visible_lines(db, actor=actor, sheet=sheet, q=q, grade=grade)]))


@router.get("/sheets/{cohort}/{period}/orgs/{org}/explain", summary="得分解释")
def explain(cohort: str, period: str, org: str, db: Session = REQUEST_DB,
            actor: Actor = Depends(require_actor)) -> dict[str, object]:
    return service.explanation(db, actor=actor, cohort_code=cohort, period=period, org_ref=org)


@router.post("/sheets/{cohort}/{period}/orgs/{org}/whatif", response_model=WhatIfRead,
             summary="假设分析")
def whatif(cohort: str, period: str, org: str, body: WhatIfRequest,
           db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> WhatIfRead:
    result = analysis.whatif(db, actor=actor, cohort_code=cohort, period=period, org_ref=org,
                             drop_adjustments=body.drop_adjustments, set_points=body.set_points,
                             set_metrics=body.set_metrics)
    return WhatIfRead(org_code=result.org_code, org_name=result.org_name,
                      before=TotalRank(total=result.before_total, rank=result.before_rank),
                      after=TotalRank(total=result.after_total, rank=result.after_rank),
                      passes=result.passes, falls_behind=result.falls_behind,
                      changes=result.changes, notes=result.notes)


@router.get("/sheets/{cohort}/{period}/alerts", response_model=PageOut[AlertRead],
            summary="预警（一次给全：一张成绩单的预警）")
def alerts(response: Response, cohort: str, period: str, db: Session = REQUEST_DB,
           actor: Actor = Depends(require_actor)) -> PageOut[AlertRead]:
    return page_out(response, Page.whole([
        AlertRead(kind=a.kind, label=a.label, org_code=a.org_code, org_name=a.org_name,
                  message=a.message)
        for a in analysis.alerts(db, actor=actor, cohort_code=cohort, period=period)]))


@router.get("/trend/{cohort}/{org}", response_model=PageOut[TrendRead],
            summary="排名走势（一次给全：每月一点）")
def trend(response: Response, cohort: str, org: str, db: Session = REQUEST_DB,
          actor: Actor = Depends(require_actor)) -> PageOut[TrendRead]:
    return page_out(response, Page.whole([
        TrendRead(period=p.period, total=p.total, rank=p.rank, of=p.of, grade=p.grade,
                  rank_change=p.rank_change, status=p.status)
        for p in analysis.trend(db, actor=actor, cohort_code=cohort, org_ref=org)]))


@router.get("/adjustments", response_model=PageOut[AdjustmentRead], summary="加扣分记录")
def list_adjustments(response: Response, period: str | None = None, org: str | None = None,
                     params: ListParams = Depends(service.ADJUSTMENTS.params),
                     db: Session = REQUEST_DB,
                     actor: Actor = Depends(require_actor)) -> PageOut[AdjustmentRead]:
    org_obj = org_service.resolve_org(db, ref=org, actor=actor) if org else None
    found = service.list_adjustments(db, actor=actor, period=period, org=org_obj, params=params)
    return page_out(response, found.map(adjustment_read))


@router.post("/adjustments", response_model=AdjustmentRead,
             status_code=status.HTTP_201_CREATED, summary="录入加扣分")
def create_adjustment(body: AdjustmentCreate, db: Session = REQUEST_DB,
                      actor: Actor = Depends(require_actor)) -> AdjustmentRead:
    org = org_service.resolve_org(db, ref=body.org, actor=actor)
    adjustment, _ = service.record_adjustment(
        db, actor=actor, period=body.period, org=org, points=body.points, reason=body.reason,
        indicator_code=body.indicator_code, scheme_code=body.scheme_code,
        source_url=body.source_url)
    return adjustment_read(adjustment)


@router.post("/adjustments/{adjustment_id}/void", response_model=AdjustmentRead,
             summary="撤销加扣分")
def void_adjustment(adjustment_id: RowId, body: VoidRequest, db: Session = REQUEST_DB,
                    actor: Actor = Depends(require_actor)) -> AdjustmentRead:
    return adjustment_read(service.void_adjustment(db, actor=actor, adjustment_id=adjustment_id,
                                                   reason=body.reason))
