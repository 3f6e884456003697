"""The errands an actor may see, and a tracking link's errand."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from tongban.core import privacy
from tongban.core.config import get_settings
from tongban.core.errors import (
    NotFound,
)
from tongban.core.listing import Listing, ListParams, Page, paginate
from tongban.core.security import Actor, Role
from tongban.errand.enums import (
    ErrandState,
    Holder,
)
from tongban.errand.models import (
    Errand,
)
from tongban.errand.service.common import _TOKEN
from tongban.errand.service.pool import eligibility
from tongban.errand.service.zones import runner_of
from tongban.org import service as org_service
from tongban.org.enums import Area


def _visible_stmt(db: Session, actor: Actor) -> Select[Errand]:
    org_service.require_area(actor, Area.errands)
    stmt = select(Errand)
    if actor.role is Role.runner:
        runner = runner_of(db, actor=actor)
        return stmt.where(Errand.runner_id == (runner.id if runner else -1))
    return stmt.where(Errand.zone_org_id.in_(org_service.visible_org_ids(db, actor=actor)))


def get_errand(db: Session, *, actor: Actor, errand_id: int) -> Errand:
    """An errand the actor may see: its own (runner), in the pool it may grab, or in scope."""
    errand = db.get(Errand, errand_id)
    if errand is None or not _sees(db, actor, errand):
        raise NotFound(f"未找到代办 #{errand_id}")
    return errand


def _sees(db: Session, actor: Actor, errand: Errand) -> bool:
    if Area.errands not in org_service.areas(actor):
        return False
    if actor.role is Role.runner:
        runner = runner_of(db, actor=actor)
        return runner is not None and (errand.runner_id == runner.id
                                       or not eligibility(db, runner=runner, errand=errand))
    return org_service.can_see(db, actor=actor, org=errand.zone)


ERRANDS = Listing(
    sorts={"id": ("编号", [Errand.id]), "submitted_at": ("提交时间", [Errand.submitted_at])},
    key=Errand.id, search="编号或地址中的文字")


def list_errands(db: Session, *, actor: Actor, state: ErrandState | None = None,
                 params: ListParams) -> Page[Errand]:
    """A page of the errands the actor may see, newest first."""
    stmt = _visible_stmt(db, actor)
    if state is not None:
        stmt = stmt.where(Errand.state == state.value)
    if params.q:
        stmt = stmt.where(or_(Errand.address.contains(params.q, autoescape=True),
                              Errand.id == params.number))
    return paginate(db, stmt, params=params,
                    order=ERRANDS.order(params, default=[Errand.submitted_at.desc(), Errand.id]))


def holder(errand: Errand) -> Holder:
    """Who holds the requester's documents now (the requester until a pickup)."""
    return Holder(errand.handovers[-1].to_kind) if errand.handovers else Holder.requester


def _token_hash(token: str) -> str:
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, b"errand-track:" + token.encode(), hashlib.sha256).hexdigest()


def track_path(token: str) -> str:
    return f"/errand/track/{token}"


def tracked(db: Session, *, token: str) -> Errand:
    """The errand of a tracking link; any unknown or malformed token is the same 404."""
    errand = None
    if _TOKEN.fullmatch(token):
        errand = db.scalar(select(Errand).where(Errand.tracking_hash == _token_hash(token)))
    if errand is None:
        raise NotFound("未找到该代办，请核对链接是否完整")
    return errand


#: States in which the runner holds the errand and may need to call the requester.
CALLABLE = frozenset({ErrandState.accepted, ErrandState.picked_up, ErrandState.at_window,
                      ErrandState.done})


def contact_phone(db: Session, *, actor: Actor, errand: Errand) -> str | None:
    """The requester's number in full, for the runner holding the errand only (to call from
    the runner's page); None to everyone else and before accepting or after delivery."""
    runner = runner_of(db, actor=actor)
    if runner is None or errand.runner_id != runner.id or not errand.phone_cipher \
            or ErrandState(errand.state) not in CALLABLE:
        return None
    return privacy.reveal(errand.phone_cipher)
