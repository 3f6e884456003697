"""The case page shows exactly the workflow steps the service allows, and the service takes
exactly those: a leader sees none, a liaison only its own org's."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from tests.factories import actor_of, logged_in_client, make_user
from tests.reviews.test_cases import make_case, walk
from tongban.core.errors import DomainError
from tongban.core.security import Actor, Role
from tongban.reviews import service
from tongban.reviews.enums import CaseAction, CaseState
from tongban.reviews.models import NegativeCase

#: steps that bring a new case to each state
PATHS = {
    CaseState.received: (),
    CaseState.called_back: (CaseAction.callback,),
    CaseState.appealed: (CaseAction.callback, CaseAction.appeal),
    CaseState.rectifying: (CaseAction.callback, CaseAction.verify, CaseAction.rectify),
    CaseState.replied: (CaseAction.callback, CaseAction.verify, CaseAction.rectify,
                        CaseAction.reply),
}
#: the demo's cases of make_case are 巴州区's
PEOPLE = [(Role.admin, None), (Role.analyst, None), (Role.leader, None), (Role.liaison, "巴州区"),
          (Role.liaison, "恩阳区")]


def does(db: Session, actor: Actor, case_: NegativeCase, action: CaseAction) -> bool:
    savepoint = db.begin_nested()
    try:
        service.act(db, actor=actor, case_=case_, action=action, note="说明")
        done = True
    except DomainError:
        done = False
    savepoint.rollback()
    db.expire_all()
    return done


@pytest.mark.parametrize("state", list(PATHS))
def test_allowed_case_actions_are_exactly_what_act_does(db: Session, state: CaseState) -> None:
    case_ = make_case(db, f"s-{state.value}")
    walk(db, case_, *PATHS[state])
    for role, org in PEOPLE:
        actor = actor_of(db, role=role, org=org)
        if role is Role.liaison and org == "恩阳区":
            continue  # cannot even read the case (tests/security covers the 404)
        allowed = service.allowed_actions(db, actor=actor, case_=case_)
        if role is Role.leader:
            assert not allowed
        for action in CaseAction:
            assert does(db, actor, case_, action) == (action in allowed), (state, role, action)


@pytest.mark.parametrize(("role", "org"), PEOPLE[:4])
def test_the_case_page_shows_exactly_the_allowed_buttons(db: Session, role: Role,
                                                         org: str | None) -> None:
    client = logged_in_client(db, make_user(db, role=role, org=org))
    actor = actor_of(db, role=role, org=org)
    for state in (CaseState.received, CaseState.appealed, CaseState.replied):
        case_ = make_case(db, f"p-{state.value}")
        walk(db, case_, *PATHS[state])
        page = client.get(f"/reviews/cases/{case_.id}").text
        shown = {CaseAction(a) for a in re.findall(r'data-testid="case-(\w+)"', page)}
        assert shown == service.allowed_actions(db, actor=actor, case_=case_), (role, state)
