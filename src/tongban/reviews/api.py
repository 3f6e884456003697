"""JSON API of 好差评: public intake, cases and metrics (thin: rules live in ``service``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy.orm import Session

from tongban.core import privacy
from tongban.core.config import get_settings
from tongban.core.db import REQUEST_DB, RowId
from tongban.core.listing import ListParams, PageOut, page_out
from tongban.core.security import Actor
from tongban.core.workdays import local_today
from tongban.org import service as org_service
from tongban.org.access import require_actor
from tongban.org.models import OrgAlias
from tongban.reviews import service
from tongban.reviews.enums import CaseAction, CaseState, Channel, HeldDecision
from tongban.reviews.models import NegativeCase, Review
from tongban.reviews.schemas import (
    CaseActionRequest,
    CaseRead,
    DeptCodeCreate,
    DeptCodeRead,
    IntakeRead,
    PublicRatingCreate,
    RatingCodeRead,
    ReviewBatch,
    ReviewRead,
)
from tongban.supervision.api import supervision_router

router = APIRouter()
public_router = APIRouter()


def case_read(db: Session, actor: Actor, case_: NegativeCase) -> CaseRead:
    return CaseRead(
        id=case_.id, review_source_id=case_.review.source_id, org_code=case_.org.code,
        org_name=case_.org.name, state=CaseState(case_.state), category=case_.category,
        level=case_.review.level, comment=privacy.mask_text(case_.review.comment),
        phone=service.phone_for(db, actor=actor, case_=case_), received_on=case_.received_on,
        callback_due=case_.callback_due, rectify_due=case_.rectify_due,
        overdue=service.is_overdue(case_, as_of=local_today()),
        reply_text=privacy.mask_text(case_.reply_text),
        appeal_reason=privacy.mask_text(case_.appeal_reason), appeal_upheld=case_.appeal_upheld)


@public_router.post("/reviews", response_model=IntakeRead, status_code=status.HTTP_201_CREATED,
                    summary="提交一条评价（公开）")
def submit(body: PublicRatingCreate, request: Request, db: Session = REQUEST_DB) -> IntakeRead:
    client = request.client.host if request.client else ""
    result = service.submit_review(db, values=body.as_row(), client=client,  # type: ignore[arg-type]
                                   phone_code=body.phone_code)
    return IntakeRead(imported=result.imported, skipped=result.skipped,
                      cases_opened=result.cases_opened, held=result.held,
                      tracking_url=get_settings().public_url.rstrip("/")
                      + service.track_path(result.tracking_token))


@router.post("/reviews:batch", response_model=IntakeRead, status_code=status.HTTP_201_CREATED,
             summary="批量提交评价（系统对接，须令牌）")
def submit_batch(body: ReviewBatch, db: Session = REQUEST_DB,
                 actor: Actor = Depends(require_actor)) -> IntakeRead:
    result = service.submit_batch(db, actor=actor, rows=[r.as_row() for r in body.reviews])  # type: ignore[misc]
    return IntakeRead(imported=result.imported, skipped=result.skipped,
                      cases_opened=result.cases_opened)


def review_read(r: Review) -> ReviewRead:
    return ReviewRead(id=r.id, source=r.source, source_id=r.source_id, channel=r.channel,
                      org_code=r.org.code, level=r.level, tags=r.tags,
                      comment=privacy.mask_text(r.comment), named=r.named,
                      phone=r.phone_masked, rated_at=r.rated_at, voided=r.voided,
                      is_default=r.is_default, hold=r.hold)


@router.get("/reviews", response_model=PageOut[ReviewRead], summary="评价（按可见范围）")
def list_reviews(response: Response, org: str | None = None, period: str | None = None,
                 params: ListParams = Depends(service.REVIEWS.params),
                 db: Session = REQUEST_DB,
                 actor: Actor = Depends(require_actor)) -> PageOut[ReviewRead]:
    target = org_service.resolve_org(db, ref=org, actor=actor) if org else None
    found = service.list_reviews(db, actor=actor, org=target, period=period, params=params)
    return page_out(response, found.map(review_read))


@router.get("/reviews/held", response_model=PageOut[ReviewRead],
            summary="待确认的重复评价（同一来源短时间内相同的公开评价，暂不计入）")
def held(response: Response, params: ListParams = Depends(service.HELD_REVIEWS.params),
         db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> PageOut[ReviewRead]:
    return page_out(response, service.held_reviews(db, actor=actor, params=params).map(review_read))


@router.post("/reviews/held/{review_id}/{decision}", response_model=ReviewRead,
             summary="确认重复评价：count 计入，discard 舍弃")
def resolve_held(review_id: RowId, decision: HeldDecision, db: Session = REQUEST_DB,
                 actor: Actor = Depends(require_actor)) -> ReviewRead:
    return review_read(service.resolve_held_review(
        db, actor=actor, review_id=review_id, count=decision is HeldDecision.count_in))


def dept_code_read(m: OrgAlias) -> DeptCodeRead:
    assert m.org is not None  # the list and the map hold mapped codes only
    return DeptCodeRead(code=m.value, org_code=m.org.code, org_name=m.org.name,
                        created_by=m.mapped_by, created_at=m.updated_at)


@router.get("/reviews/dept-codes", response_model=PageOut[DeptCodeRead],
            summary="部门信用代码与单位的对应（好差评交换记录按 deptCode 归属）")
def dept_codes(response: Response, params: ListParams = Depends(service.DEPT_CODES.params),
               db: Session = REQUEST_DB,
               actor: Actor = Depends(require_actor)) -> PageOut[DeptCodeRead]:
    return page_out(response, service.dept_codes(db, actor=actor, params=params)
                    .map(dept_code_read))


@router.put("/reviews/dept-codes", response_model=DeptCodeRead,
            summary="登记部门信用代码对应的单位")
def map_dept_code(body: DeptCodeCreate, db: Session = REQUEST_DB,
                  actor: Actor = Depends(require_actor)) -> DeptCodeRead:
    org = org_service.resolve_org(db, ref=body.org, actor=actor)
    return dept_code_read(service.map_dept_code(db, actor=actor, code=body.code, org=org))


@router.get("/reviews/metrics", summary="评价指标（带分子分母）")
def metrics(org: str, period: str, db: Session = REQUEST_DB,
            actor: Actor = Depends(require_actor)) -> dict[str, Any]:
    target = org_service.resolve_org(db, ref=org, actor=actor)
    return service.metrics(db, actor=actor, org=target, period=period)


@router.get("/reviews/rating-code", response_model=RatingCodeRead,
            summary="评价链接（大厅、窗口、事项或办件的评价码）")
def rating_code(org: str, item: str = "", case: str = "", channel: Channel = Channel.window,
                db: Session = REQUEST_DB,
                actor: Actor = Depends(require_actor)) -> RatingCodeRead:
    code = service.rating_code(db, actor=actor,
                               org=org_service.resolve_org(db, ref=org, actor=actor),
                               item_code=item, case_no=case, channel=channel)
    return RatingCodeRead(org_code=code.org.code, org_name=code.org.name,
                          channel=code.channel.value, link=code.link)


@router.get("/reviews/cases", response_model=PageOut[CaseRead],
            summary="差评工单（不给 sort 时逾期在前，其余按最近期限）")
def list_cases(response: Response, org: str | None = None, state: CaseState | None = None,
               period: str | None = None, item: str | None = None,
               overdue: bool = Query(False, description="只看逾期（未办结且回访或整改已过期限）"),
               params: ListParams = Depends(service.CASES.params),
               db: Session = REQUEST_DB,
               actor: Actor = Depends(require_actor)) -> PageOut[CaseRead]:
    target = org_service.resolve_org(db, ref=org, actor=actor) if org else None
    found = service.list_cases(db, actor=actor, org=target, state=state, period=period,
                               item_code=item, overdue_only=overdue, params=params)
    return page_out(response, found.map(lambda c: case_read(db, actor, c)))


@router.get("/reviews/cases/{case_id}", response_model=CaseRead, summary="差评工单详情")
def read_case(case_id: RowId, db: Session = REQUEST_DB,
              actor: Actor = Depends(require_actor)) -> CaseRead:
    return case_read(db, actor, service.get_case(db, actor=actor, case_id=case_id))


@router.post("/reviews/cases/{case_id}/actions/{action}", response_model=CaseRead,
             summary="办理差评工单")
def act(case_id: RowId, action: CaseAction, body: CaseActionRequest,
        db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> CaseRead:
    found = service.get_case(db, actor=actor, case_id=case_id)
    service.act(db, actor=actor, case_=found, action=action, note=body.note)
    return case_read(db, actor, found)


#: 催办 and 批示 of 差评工单 (``POST /reviews/cases/supervision``, ``GET …/{id}/supervision``).
supervision_api = supervision_router(
    prefix="/reviews/cases", noun="差评工单", object_type="negative_case",
    targets=lambda db, actor, ids: service.supervision_targets(db, actor=actor, case_ids=ids),
    fetch=lambda db, actor, case_id: service.get_case(db, actor=actor, case_id=case_id))
