"""JSON API of 跑团代办 under /api/v1/errands (thin: rules live in ``service``)."""

from __future__ import annotations

from fastapi import (
    APIRouter,
    Depends,
    File,
    Header,
    Query,
    Request,
    Response,
    UploadFile,
    status,
)
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tongban.core.config import get_settings
from tongban.core.db import REQUEST_DB, RowId
from tongban.core.errors import NotFound
from tongban.core.forms import BODY
from tongban.core.listing import ListParams, Page, PageOut, page_out
from tongban.core.security import Actor
from tongban.errand import channels, evidence, service
from tongban.errand.enums import ErrandAction, ErrandState, ZoneMode
from tongban.errand.models import Runner
from tongban.errand.schemas import (
    ActionRequest,
    ErrandCreate,
    ErrandCreated,
    ErrandRead,
    GrabRead,
    GrabRequest,
    PhotoRead,
    PoolEntry,
    RunnerRead,
    errand_read,
    runner_read,
)
from tongban.org.access import require_actor

router = APIRouter(prefix="/errands")
#: Routes without a session: the channels' signed callbacks.
public_router = APIRouter()


class ChannelRequest(BaseModel):
    channel: str = Field(max_length=16)


class CallbackRead(BaseModel):
    outcome: str = Field(description="applied（已办理一步）、unchanged（已是该状态）或 duplicate（重复事件）")
    errand_id: int
    state: ErrandState


class DutyRequest(BaseModel):
    on_duty: bool


class PositionRequest(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


def _own_runner(db: Session, actor: Actor) -> Runner:
    runner = service.runner_of(db, actor=actor)
    if runner is None:
        raise NotFound("当前账号不是登记的跑手")
    return runner


@router.post("", response_model=ErrandCreated, status_code=status.HTTP_201_CREATED,
             summary="提交代办（第三方带 Idempotency-Key：重复提交返回同一件）")
def create_errand(body: ErrandCreate, response: Response,
                  idempotency_key: str | None = Header(None, max_length=200),
                  db: Session = REQUEST_DB,
                  actor: Actor = Depends(require_actor)) -> ErrandCreated:
    done = service.submit(db, actor=actor, request=service.Request(**body.model_dump()),
                          idempotency_key=idempotency_key)
    if not done.created:
        response.status_code = status.HTTP_200_OK
    read = errand_read(done.errand)
    return ErrandCreated(**read.model_dump(), created=done.created,
                         tracking_path=service.track_path(done.tracking_token)
                         if done.tracking_token else None)


@router.get("", response_model=PageOut[ErrandRead], summary="代办（最新在前）")
def list_errands(response: Response, state: ErrandState | None = None,
                 params: ListParams = Depends(service.ERRANDS.params),
                 db: Session = REQUEST_DB,
                 actor: Actor = Depends(require_actor)) -> PageOut[ErrandRead]:
    found = service.list_errands(db, actor=actor, state=state, params=params)
    return page_out(response, found.map(errand_read))


@router.get("/pool", response_model=PageOut[PoolEntry], summary="我可抢的代办（最近的在前；非跑手为空）")
def my_pool(response: Response, db: Session = REQUEST_DB,
            actor: Actor = Depends(require_actor)) -> PageOut[PoolEntry]:
    runner = service.runner_of(db, actor=actor)
    found = service.pool(db, actor=actor, runner=runner) if runner else []
    return page_out(response, Page.whole([PoolEntry(errand=errand_read(e), distance_km=round(km, 3))
                                          for e, km in found]))


@router.get("/runners", response_model=PageOut[RunnerRead], summary="跑手")
def list_runners(response: Response, params: ListParams = Depends(service.RUNNERS.params),
                 db: Session = REQUEST_DB,
                 actor: Actor = Depends(require_actor)) -> PageOut[RunnerRead]:
    return page_out(response, service.list_runners(db, actor=actor, params=params)
                    .map(runner_read))


@router.post("/runners/me/duty", response_model=RunnerRead, summary="上岗或下岗")
def set_duty(body: DutyRequest, db: Session = REQUEST_DB,
             actor: Actor = Depends(require_actor)) -> RunnerRead:
    runner = service.set_duty(db, actor=actor, runner=_own_runner(db, actor),
                              on_duty=body.on_duty)
    return runner_read(runner)


@router.post("/runners/me/position", status_code=status.HTTP_204_NO_CONTENT,
             summary="上报位置")
def ping_position(body: PositionRequest, db: Session = REQUEST_DB,
                  actor: Actor = Depends(require_actor)) -> Response:
    service.record_position(db, actor=actor, runner=_own_runner(db, actor), lat=body.lat,
                            lng=body.lng)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class ZoneRead(BaseModel):
    id: int
    zone: str
    mode: str
    mode_label: str


class ModeRequest(BaseModel):
    mode: ZoneMode | None = Field(None, description="dispatch、grab、both；null 为默认设置")


class KpisRead(BaseModel):
    days: int
    submitted: int
    answered: int
    answer_rate: float | None
    due: int
    ontime: int
    ontime_rate: float | None
    picked: int
    mean_pickup_km: float | None
    runners_on_duty: int
    load_gini: float


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(100 * numerator / denominator, 2) if denominator else None


@router.get("/zones", response_model=PageOut[ZoneRead], summary="代办区域及派单方式")
def list_zones(response: Response, db: Session = REQUEST_DB,
               actor: Actor = Depends(require_actor)) -> PageOut[ZoneRead]:
    found = service.console(db, actor=actor, days=1).zones
    return page_out(response, Page.whole([
        ZoneRead(id=z.org_id, zone=z.name, mode=z.mode.value, mode_label=z.mode.label)
        for z in found]))


@router.put("/zones/{org_id}/mode", response_model=ZoneRead, summary="设置区域的派单方式")
def set_zone_mode(org_id: RowId, body: ModeRequest, db: Session = REQUEST_DB,
                  actor: Actor = Depends(require_actor)) -> ZoneRead:
    zone = service.set_zone_mode(db, actor=actor, zone_org_id=org_id, mode=body.mode)
    mode = service.zone_modes(db)[zone.org_id]
    return ZoneRead(id=zone.org_id, zone=zone.org.name, mode=mode.value, mode_label=mode.label)


@router.get("/kpis", response_model=KpisRead, summary="调度台指标（应答率、取件距离、按时率、工作量）")
def kpis(days: int = Query(7, ge=1, le=90), db: Session = REQUEST_DB,
         actor: Actor = Depends(require_actor)) -> KpisRead:
    k = service.console(db, actor=actor, days=days).kpis
    return KpisRead(days=days, submitted=k.submitted, answered=k.answered,
                    answer_rate=_ratio(k.answered, k.submitted), due=k.due, ontime=k.ontime,
                    ontime_rate=_ratio(k.ontime, k.due), picked=k.picked,
                    mean_pickup_km=round(k.mean_pickup_km, 3)
                    if k.mean_pickup_km is not None else None,
                    runners_on_duty=len(k.loads), load_gini=round(k.load_gini, 4))


@router.get("/{errand_id}", response_model=ErrandRead, summary="一件代办")
def get_errand(errand_id: RowId, db: Session = REQUEST_DB,
               actor: Actor = Depends(require_actor)) -> ErrandRead:
    errand = service.get_errand(db, actor=actor, errand_id=errand_id)
    return errand_read(errand, service.allowed_actions(db, actor=actor, errand=errand))


@router.post("/{errand_id}/grab", response_model=GrabRead,
             summary="抢单（先到先得；已被抢为 409，重试返回同一结果）")
def grab(errand_id: RowId, body: GrabRequest, db: Session = REQUEST_DB,
         actor: Actor = Depends(require_actor)) -> GrabRead:
    runner_id = body.runner_id or _own_runner(db, actor).id
    won = service.grab(db, actor=actor, errand_id=errand_id, runner_id=runner_id)
    return GrabRead(outcome="retry" if won.retry else "won", errand_id=errand_id,
                    runner_id=runner_id, distance_km=round(won.distance_km, 3))


@router.post("/{errand_id}/photos", response_model=PhotoRead, status_code=status.HTTP_201_CREATED,
             summary="上传交接照片（JPEG/PNG），下一步办理时以 photo_ref 引用")
def upload_photo(errand_id: RowId, file: UploadFile = File(...), db: Session = REQUEST_DB,
                 actor: Actor = Depends(require_actor)) -> PhotoRead:
    errand = service.get_errand(db, actor=actor, errand_id=errand_id)
    content = file.file.read(get_settings().errand_photo_max_bytes + 1)
    found = evidence.add_photo(db, actor=actor, errand=errand, content=content)
    return PhotoRead(id=found.id, photo_ref=f"file:{found.id}", size=found.size,
                     content_type=found.content_type)


@router.post("/{errand_id}/actions/{action}", response_model=ErrandRead,
             summary="办理一步（取件、到窗口、办结、送达、取消、失败……）")
def act(errand_id: RowId, action: ErrandAction, body: ActionRequest,
        db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> ErrandRead:
    errand = service.get_errand(db, actor=actor, errand_id=errand_id)
    offer_to = service.get_runner(db, actor=actor, runner_id=body.runner_id) \
        if body.runner_id else None
    service.transition(db, actor=actor, errand=errand, action=action, reason=body.reason,
                       photo_ref=body.photo_ref, offer_to=offer_to)
    return errand_read(errand, service.allowed_actions(db, actor=actor, errand=errand))


@router.post("/{errand_id}/channel", response_model=ErrandRead,
             summary="转交第三方跑腿（美团、饿了么、邮政；重复转交同一渠道不变）")
def hand_to_channel(errand_id: RowId, body: ChannelRequest, db: Session = REQUEST_DB,
                    actor: Actor = Depends(require_actor)) -> ErrandRead:
    errand = service.get_errand(db, actor=actor, errand_id=errand_id)
    channels.hand_to_channel(db, actor=actor, errand=errand, code=body.channel)
    return errand_read(errand, service.allowed_actions(db, actor=actor, errand=errand))


@public_router.post("/errand/channels/{code}/callback", response_model=CallbackRead,
                    summary="第三方跑腿的状态回调（无需登录；须带时间戳和签名）")
def channel_callback(code: str, request: Request, raw: bytes = BODY, db: Session = REQUEST_DB,
                     timestamp: str = Header("", alias=channels.TIMESTAMP_HEADER,
                                             max_length=20),
                     signature: str = Header("", alias=channels.SIGNATURE_HEADER,
                                             max_length=128)) -> CallbackRead:
    done = channels.receive_callback(db, code=code[:16], timestamp=timestamp,
                                     signature_hex=signature, raw=raw,
                                     client=request.client.host if request.client else "")
    return CallbackRead(outcome=done.outcome, errand_id=done.errand_id,
                        state=ErrandState(done.state))
