"""The league page offers exactly the sheet actions the service allows, in every sheet state."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from tests.factories import actor_of, logged_in_client, make_user
from tongban.assessment import service
from tongban.assessment.enums import SheetAction
from tongban.core.errors import DomainError
from tongban.core.security import SYSTEM_ACTOR, Role

COHORT = "bz-counties"


def does(db: Session, role: Role, action: SheetAction, period: str) -> bool:
    actor = actor_of(db, role=role, org="恩阳区" if role is Role.liaison else None)
    savepoint = db.begin_nested()
    try:
        if action is SheetAction.compute:
            service.compute_sheet(db, actor=actor, cohort_code=COHORT, period=period)
        elif action is SheetAction.publish:
            service.publish_sheet(db, actor=actor, cohort_code=COHORT, period=period)
        else:
            service.correct_sheet(db, actor=actor, cohort_code=COHORT, period=period,
                                  reason="省通报更正")
        done = True
    except DomainError:
        done = False
    savepoint.rollback()
    db.expire_all()
    return done


@pytest.mark.parametrize("stage", ["draft", "published", "correcting"])
def test_sheet_actions_allowed_are_the_ones_that_work(db: Session, stage: str) -> None:
    period = "2026-04"  # a draft in the demo
    if stage != "draft":
        service.publish_sheet(db, actor=SYSTEM_ACTOR, cohort_code=COHORT, period=period)
    if stage == "correcting":
        service.correct_sheet(db, actor=SYSTEM_ACTOR, cohort_code=COHORT, period=period,
                              reason="省通报更正")
    expected = {"draft": {SheetAction.compute, SheetAction.publish},
                "published": {SheetAction.correct},
                "correcting": {SheetAction.compute, SheetAction.publish}}[stage]
    for role in (Role.admin, Role.analyst, Role.leader, Role.liaison):
        actor = actor_of(db, role=role, org="恩阳区" if role is Role.liaison else None)
        allowed = service.allowed_sheet_actions(db, actor=actor, cohort_code=COHORT,
                                                period=period)
        assert allowed == (expected if actor.can_manage else set()), (stage, role)
        for action in SheetAction:
            assert does(db, role, action, period) == (action in allowed), (stage, role, action)


@pytest.mark.parametrize("role", [Role.analyst, Role.leader])
def test_the_league_page_shows_exactly_the_allowed_sheet_buttons(db: Session,
                                                                  role: Role) -> None:
    service.publish_sheet(db, actor=SYSTEM_ACTOR, cohort_code=COHORT, period="2026-04")
    service.correct_sheet(db, actor=SYSTEM_ACTOR, cohort_code=COHORT, period="2026-04",
                          reason="省通报更正")
    client = logged_in_client(db, make_user(db, role=role))
    page = client.get(f"/assessment?cohort={COHORT}&period=2026-04").text
    shown = set(re.findall(r'data-testid="sheet-(\w+)"', page))
    allowed = service.allowed_sheet_actions(db, actor=actor_of(db, role=role),
                                            cohort_code=COHORT, period="2026-04")
    assert shown == {a.value for a in allowed}
    assert (role is Role.analyst) == ("已有未发布的更正草稿" in page)
