"""好差评 pages: the liaison's inbox, the case page and its actions, the analyst dashboard."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from tests.factories import csrf_of, logged_in_client, make_user
from tests.reviews.test_cases import make_case
from tongban.core.security import Role


def test_liaison_inbox_lists_only_own_cases_overdue_first(db: Session) -> None:
    make_case(db, "p1", rated="2026-02-02 10:00:00")
    client = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    page = client.get("/reviews")
    assert page.status_code == 200
    rows = page.text.split('data-testid="case-list"')[1]
    assert "巴州区" in rows and "恩阳区" not in rows
    assert rows.index("逾期") < rows.index("</tbody>")


def test_case_page_shows_masked_comment_and_acts(db: Session) -> None:
    case_ = make_case(db, "p2", named="是", phone="13812345678",
                      comment="电话13900001111")
    analyst = logged_in_client(db, make_user(db, role=Role.analyst))
    page = analyst.get(f"/reviews/cases/{case_.id}")
    assert "139****1111" in page.text and "13900001111" not in page.text
    assert 'data-testid="phone">138****5678' in page.text
    liaison = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    token = csrf_of(liaison, f"/reviews/cases/{case_.id}")
    assert 'data-testid="phone">13812345678' in liaison.get(f"/reviews/cases/{case_.id}").text
    done = liaison.post(f"/reviews/cases/{case_.id}/actions/callback",
                        data={"csrf_token": token, "note": "已电话回访"}, follow_redirects=True)
    assert "已回访" in done.text


def test_dashboard_charts_for_citywide_roles_only(db: Session) -> None:
    make_case(db, "p3")
    leader = logged_in_client(db, make_user(db, role=Role.leader))
    page = leader.get("/reviews/dashboard")
    assert 'id="chart-levels"' in page.text and 'id="chart-heat"' in page.text
    liaison = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    assert liaison.get("/reviews/dashboard").status_code == 403



def test_heatmap_cells_drill_down_to_that_org_and_month(db: Session) -> None:
    february = make_case(db, "p4", rated="2026-02-02 10:00:00")
    march = make_case(db, "p5", rated="2026-03-03 10:00:00")
    analyst = logged_in_client(db, make_user(db, role=Role.analyst))
    page = analyst.get("/reviews/dashboard")
    option = json.loads(page.text.split('id="chart-heat"')[1].split("data-chart='")[1].split("'>")[0])
    urls = {item["url"] for item in option["series"][0]["data"]}
    target = f"/reviews?org={february.org.code}&period=2026-02"
    assert target in urls
    drilled = analyst.get(target)
    rows = drilled.text.split('data-testid="case-list"')[1].split("</tbody>")[0]
    assert f'/reviews/cases/{february.id}"' in rows
    assert f'/reviews/cases/{march.id}"' not in rows
    assert "2026年2月的评价" in drilled.text
