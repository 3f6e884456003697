"""A draft month is shown as a draft and is never the base of a 较上月: May published while
April is still a draft has no rank change (the service, the trend, the league page), the
analyst is warned on publishing out of order, and a month without a sheet says so."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from tests.assessment.test_sheet_actions import COHORT, _month_with_data
from tests.factories import logged_in_client, make_user
from tongban.assessment import analysis, service
from tongban.core.security import SYSTEM_ACTOR, Role


def _may_published_before_april(db: Session) -> None:
    _month_with_data(db, "2026-05")  # April (2026-04) is a draft in the demo
    service.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code=COHORT, period="2026-05")
    service.publish_sheet(db, actor=SYSTEM_ACTOR, cohort_code=COHORT, period="2026-05")


def test_a_draft_month_is_no_base_for_the_next_months_rank_change(db: Session) -> None:
    _may_published_before_april(db)
    may = service.read_sheet(db, actor=SYSTEM_ACTOR, cohort_code=COHORT, period="2026-05")
    assert all(row.rank_change is None for row in may.rows)
    april = service.read_sheet(db, actor=SYSTEM_ACTOR, cohort_code=COHORT, period="2026-04")
    assert any(row.rank_change is not None for row in april.rows)  # March is published
    points = {p.period: p for p in analysis.trend(db, actor=SYSTEM_ACTOR, cohort_code=COHORT,
                                                  org_ref="恩阳区")}
    assert points["2026-04"].draft and not points["2026-05"].draft
    assert points["2026-04"].rank_change is not None and points["2026-05"].rank_change is None
    # once April is published it is May's base again
    service.publish_sheet(db, actor=SYSTEM_ACTOR, cohort_code=COHORT, period="2026-04")
    may = service.read_sheet(db, actor=SYSTEM_ACTOR, cohort_code=COHORT, period="2026-05")
    assert all(row.rank_change is not None for row in may.rows)


def test_the_league_page_shows_no_change_against_a_draft(db: Session) -> None:
    _may_published_before_april(db)
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    page = client.get("/assessment", params={"cohort": COHORT, "period": "2026-05"}).text
    assert not re.search(r"[↑↓]\d", page)


def test_publishing_before_an_earlier_draft_warns(db: Session) -> None:
    _month_with_data(db, "2026-05")
    service.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code=COHORT, period="2026-05")
    assert service.drafts_before(db, cohort_code=COHORT, period="2026-05") == ["2026-04"]
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    league = client.get("/assessment", params={"cohort": COHORT, "period": "2026-05"}).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', league)
    assert token
    answer = client.post(f"/assessment/sheets/{COHORT}/2026-05/publish",
                         data={"csrf_token": token[1]}).text
    assert "已发布第1版" in answer
    assert "2026年4月的成绩单仍是草稿" in answer
    assert service.drafts_before(db, cohort_code=COHORT, period="2026-03") == []


def test_a_month_without_a_sheet_says_so_and_shows_no_other(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    page = client.get("/assessment", params={"cohort": COHORT, "period": "2026-09"}).text
    assert 'data-testid="no-sheet"' in page and "2026年9月尚无成绩单" in page
    assert 'data-testid="sheet-publish"' not in page and "<h1>考核排名</h1>" in page
    assert 'href="/assessment?cohort=bz-counties&period=2026-04"' in page


def test_the_leaders_trend_marks_the_draft_month(db: Session) -> None:
    """The demo's 2026-04 sheet of the province's cities is a draft: shown, and marked."""
    home = logged_in_client(db, make_user(db, role=Role.leader)).get("/").text
    trend = home.split('data-testid="city-rank"')[1].split("</section>")[0]
    assert "2026年3月" in trend and trend.count('data-testid="trend-draft"') == 1
    head = trend.split("<thead>")[1].split("</thead>")[0]
    assert re.search(r"2026年4月<br><span[^>]*>草稿", head)
