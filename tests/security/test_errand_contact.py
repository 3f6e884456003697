"""The requester's number in full reaches only the runner holding the errand, only while it
holds it: not the pool, not another runner, not staff, not after delivery."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.factories import actor_of, errand_world, make_errand, make_runner
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.errand import service
from tongban.errand.enums import ErrandAction
from tongban.org.service import actor_for


def test_only_the_holding_runner_may_call_and_only_while_it_holds(db: Session) -> None:
    item, _ = errand_world(db)
    holder, other = make_runner(db), make_runner(db)
    errand = make_errand(db, item=item)
    me = actor_for(holder.user)
    assert service.contact_phone(db, actor=me, errand=errand) is None  # still in the pool
    service.grab(db, actor=me, errand_id=errand.id, runner_id=holder.id)
    full = service.contact_phone(db, actor=me, errand=errand)
    assert full is not None and full.isdigit() and len(full) == 11
    assert service.contact_phone(db, actor=actor_for(other.user), errand=errand) is None
    for role in (Role.admin, Role.analyst, Role.liaison):
        staff = actor_of(db, role=role, org="511902" if role is Role.liaison else None)
        assert service.contact_phone(db, actor=staff, errand=errand) is None
    assert service.contact_phone(db, actor=SYSTEM_ACTOR, errand=errand) is None
    for action in (ErrandAction.pick_up, ErrandAction.at_window, ErrandAction.finish,
                   ErrandAction.deliver):
        service.transition(db, actor=me, errand=errand, action=action)
    assert service.contact_phone(db, actor=me, errand=errand) is None  # delivered: masked
