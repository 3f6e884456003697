"""好差评 pages: the liaison's inbox, the case page and its actions, the analyst dashboard."""

from __future__ import annotations

import io
import re
from collections import Counter
from urllib.parse import quote

import pytest
from sqlalchemy.orm import Session

from tests.factories import api_client, chart_option, csrf_of, logged_in_client, make_user
from tests.reviews.test_cases import make_case, walk
from tests.reviews.test_intake import HEADER, row
from tongban.catalog.service import item_names
from tongban.core.config import get_settings
from tongban.core.listing import ListParams
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.org import service as org_service
from tongban.org.enums import OrgLevel
from tongban.reviews import service
from tongban.reviews.enums import CaseAction


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


def test_the_case_history_shows_each_action_with_its_actor_and_note(db: Session) -> None:
    """In words, by people's names: not codes."""
    case_ = make_case(db, "p3")
    user = make_user(db, role=Role.liaison, org="巴州区")
    user.display_name = "李晓联"
    db.flush()
    liaison = logged_in_client(db, user)
    token = csrf_of(liaison, f"/reviews/cases/{case_.id}")
    for action, note in (("callback", "已电话回访"), ("verify", "情况属实")):
        liaison.post(f"/reviews/cases/{case_.id}/actions/{action}",
                     data={"csrf_token": token, "note": note})
    page = liaison.get(f"/reviews/cases/{case_.id}").text
    timeline = page.split('<ol class="timeline">')[1].split("</ol>")[0]
    steps = timeline.split("<li>")[1:]
    assert len(steps) == 2 and all("李晓联" in step for step in steps)
    assert "回访：已电话回访" in steps[0] and "核实属实：情况属实" in steps[1]


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
    option = chart_option(page.text, "chart-heat")
    urls = {item["url"] for item in option["series"][0]["data"]}
    target = f"/reviews?org={february.org.code}&period=2026-02"
    assert target in urls
    drilled = analyst.get(target)
    rows = drilled.text.split('data-testid="case-list"')[1].split("</tbody>")[0]
    assert f'/reviews/cases/{february.id}"' in rows
    assert f'/reviews/cases/{march.id}"' not in rows
    assert "2026年2月的评价" in drilled.text


def test_dashboard_ranks_items_and_tags_by_negative_reviews_and_drills_down_to_their_cases(
        db: Session) -> None:
    passport, residence = "T-PASSPORT", "T-RESIDENCE"
    before = Counter(dict(service.dashboard(db, actor=SYSTEM_ACTOR)["tags"]))
    lines = [row(f"i{n}", case=f"I{n}", level=level, tags=tags).replace("511A0138000000", item)
             for n, (item, level, tags) in enumerate([
                 (passport, "1", "服务态度"), (passport, "2", "多次跑动;办事效率"),
                 (passport, "2", "多次跑动"), (passport, "5", "办事效率"),
                 (residence, "1", "服务态度"), (residence, "4", "")])]
    service.import_reviews(db, actor=SYSTEM_ACTOR, filename="r.csv",
                           source=io.BytesIO((HEADER + "".join(lines)).encode()))
    voided = next(c for c in service.visible_cases(db, actor=SYSTEM_ACTOR, item_code=passport)
                  if c.review.source_id == "i0")
    walk(db, voided, CaseAction.callback, CaseAction.appeal, CaseAction.uphold)
    data = service.dashboard(db, actor=SYSTEM_ACTOR, items=1000)
    ranked = data["items"]
    mine = [tuple(r) for r in ranked if r[0] in (passport, residence)]
    assert mine == [(passport, 2, 3), (residence, 1, 2)]  # the upheld appeal left out
    assert [r[1] for r in ranked] == sorted((r[1] for r in ranked), reverse=True)
    # Tags of 差评 only: not the good review's, not the voided one's.
    assert Counter(dict(data["tags"])) - before == Counter({"多次跑动": 2, "办事效率": 1, "服务态度": 1})
    analyst = logged_in_client(db, make_user(db, role=Role.analyst))
    table = analyst.get("/reviews/dashboard").text.split('data-testid="worst-items"')[1]
    table = table.split("</table>")[0]
    assert table.count("<tr>") == 1 + min(10, len(ranked))
    names = item_names(db, codes=[code for code, _, _ in ranked[:10]])
    for code, bad, total in ranked[:10]:  # named from the catalog, else by the code
        cell = table.split(f'href="/reviews?item={code}">')[1].split("</a>")[0]
        assert f">{names.get(code, code)}</span>" in cell
        assert cell.split("</td>")[0] == cell and f'{cell}</a></td><td class="num">{bad}/{total}' \
            in table
    drilled = analyst.get(f"/reviews?item={residence}")
    rows = drilled.text.split('data-testid="case-list"')[1].split("</tbody>")[0]
    assert rows.count("/reviews/cases/") == 1 and f"事项 {residence}" in drilled.text
    api = api_client(db, make_user(db, role=Role.analyst))
    listed = api.get("/api/v1/reviews/cases", params={"item": passport, "period": "2026-02"})
    assert sorted(c["review_source_id"] for c in listed.json()["items"]) == ["i0", "i1", "i2"]


def _case_links(html: str) -> list[str]:
    rows = html.split('data-testid="case-list"')[1].split("</tbody>")[0]
    return [part.split('"')[0] for part in rows.split('href="/reviews/cases/')[1:]]


def test_inbox_searches_by_case_number_and_comment_and_its_links_keep_the_search(
        db: Session) -> None:
    cold = make_case(db, "q1", comment="窗口人员态度冷淡检索样例")
    slow = make_case(db, "q2", comment="办理太慢检索样例")
    analyst = logged_in_client(db, make_user(db, role=Role.analyst))
    by_word = analyst.get("/reviews", params={"q": "态度冷淡"})
    assert _case_links(by_word.text) == [str(cold.id)] and "检索「态度冷淡」（1件）" in by_word.text
    assert _case_links(analyst.get("/reviews", params={"q": "Kq2"}).text) == [str(slow.id)]
    both = analyst.get("/reviews", params={"q": "检索样例", "page_size": 1})
    assert "第 1 / 2 页" in both.text
    following = f"/reviews?q={quote('检索样例')}&page_size=1&page=2"
    assert f'href="{following.replace("&", "&amp;")}"' in both.text
    assert set(_case_links(both.text) + _case_links(analyst.get(following).text)) == {
        str(cold.id), str(slow.id)}
    by_due = f'href="/reviews?q={quote("检索样例")}&amp;page_size=1&amp;sort=rectify_due"'
    assert by_due in both.text


def test_inbox_sorts_by_a_column_either_way(db: Session) -> None:
    analyst = logged_in_client(db, make_user(db, role=Role.analyst))
    for sort in ("id", "-id", "-rectify_due"):
        expected = service.list_cases(db, actor=SYSTEM_ACTOR,
                                      params=ListParams(sort=sort, page_size=5))
        page = analyst.get("/reviews", params={"sort": sort, "page_size": 5}).text
        assert _case_links(page) == [str(c.id) for c in expected.items]
    ids = [int(i) for i in _case_links(analyst.get("/reviews?sort=-id&page_size=5").text)]
    assert ids == sorted(ids, reverse=True)
    refused = analyst.get("/reviews", params={"sort": "phone"})
    assert refused.status_code == 422 and "不能按「phone」排序" in refused.text


def test_inbox_pages_through_the_cases(db: Session) -> None:
    expected = service.list_cases(db, actor=SYSTEM_ACTOR, params=ListParams(page=2))
    assert expected.pages > 1  # the demo city's cases fill more than one page
    analyst = logged_in_client(db, make_user(db, role=Role.analyst))
    second = analyst.get("/reviews", params={"page": 2})
    rows = second.text.split('data-testid="case-list"')[1].split("</tbody>")[0]
    assert [f'/reviews/cases/{c.id}"' in rows for c in expected.items] == [True] * len(
        expected.items)
    assert rows.count("/reviews/cases/") == len(expected.items)
    assert f"第 2 / {expected.pages} 页" in second.text and 'href="/reviews?page=1"' in second.text

    api = api_client(db, make_user(db, role=Role.analyst))
    listed = api.get("/api/v1/reviews/cases", params={"page": 2, "page_size": 50})
    assert [c["id"] for c in listed.json()["items"]] == [c.id for c in expected.items]
    assert listed.headers["X-Total-Count"] == str(expected.total)


def test_the_dashboard_ranks_no_unit_on_too_few_ratings(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """One 差评 out of one rating is 样本不足 with its interval, not the worst unit."""
    monkeypatch.setenv("TONGBAN_REVIEW_MIN_SAMPLE", "40")
    get_settings.cache_clear()
    city = org_service.resolve_org(db, ref="巴中市")
    small = org_service.create_org(db, actor=SYSTEM_ACTOR, name="市测试样本局",
                                   level=OrgLevel.department, parent=city)
    service.import_reviews(db, actor=SYSTEM_ACTOR, filename="r.csv", source=io.BytesIO(
        (HEADER + row("thin-1", case="TH1", level="1", org=small.code)).encode()))
    page = logged_in_client(db, make_user(db, role=Role.analyst)).get("/reviews/dashboard").text
    table = page.split('data-testid="worst-units"')[1].split("</table>")[0]
    ranked, thin = table.split('class="thin"', 1) if 'class="thin"' in table else (table, "")
    assert "市测试样本局" not in ranked
    assert "市测试样本局" in thin and "样本不足" in thin
    assert "100.0%（1/1，95%区间 20.7%–100.0%）" in thin
    for cell in re.findall(r"（(\d+)/(\d+)，95%区间", ranked):
        assert int(cell[1]) >= 40
