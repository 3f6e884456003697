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


def _month_with_data(db: Session, period: str) -> None:
    """A new month whose metric values are in (April's, again), not yet scored."""
    from sqlalchemy import select

    from tongban.assessment.models import MetricValue
    from tongban.assessment.service import MetricInput

    april = db.scalars(select(MetricValue).where(MetricValue.period == "2026-04")).all()
    service.record_metric_values(db, actor=SYSTEM_ACTOR, source="test", values=[
        MetricInput(period, v.org_id, v.metric, v.value) for v in april])


def test_a_new_month_is_scored_from_the_pages(db: Session) -> None:
    _month_with_data(db, "2026-05")
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    league = client.get("/assessment", params={"cohort": COHORT, "period": "2026-04"}).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', league)
    assert token and 'data-testid="compute-month"' in league
    answer = client.post("/assessment/sheets/compute",
                         data={"cohort": COHORT, "period": "2026-05", "csrf_token": token[1]})
    assert answer.status_code == 200 and "已计算" in answer.text and "2026年5月" in answer.text
    sheet = service.current_sheet(db, cohort=service.get_cohort(db, code=COHORT),
                                  period="2026-05")
    assert sheet is not None and sheet.status == "draft" and sheet.lines
    refused = client.post("/assessment/sheets/compute",
                          data={"cohort": COHORT, "period": "2026-13",
                                "csrf_token": token[1]}).text
    assert "2026-13" in refused and 'class="flash flash-error"' in refused


def test_a_liaison_gets_no_month_picker_and_cannot_score(db: Session) -> None:
    _month_with_data(db, "2026-05")
    client = logged_in_client(db, make_user(db, role=Role.liaison, org="恩阳区"))
    league = client.get("/assessment", params={"cohort": COHORT}).text
    assert 'data-testid="compute-month"' not in league
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/account").text)
    assert token
    client.post("/assessment/sheets/compute",
                data={"cohort": COHORT, "period": "2026-05", "csrf_token": token[1]})
    assert service.current_sheet(db, cohort=service.get_cohort(db, code=COHORT),
                                 period="2026-05") is None


def test_the_analysts_home_offers_to_score_a_month_whose_data_is_in(db: Session) -> None:
    from tongban.core.periods import month_of, shift
    from tongban.core.workdays import local_today

    last_month = shift(month_of(local_today()), -1)
    _month_with_data(db, last_month)
    home = logged_in_client(db, make_user(db, role=Role.analyst)).get("/").text
    assert f'data-testid="compute-{COHORT}-{last_month}"' in home
    assert f'data-testid="compute-{COHORT}-{month_of(local_today())}"' not in home  # no data yet
