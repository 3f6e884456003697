"""Names, not codes: 差评 cases, their export, the dashboard, rectification lines and the weekly
bulletin name a service item from the catalog; a code the catalog does not know stands as it
is (muted), never an empty cell."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import logged_in_client, make_user
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.core.workdays import local_today
from tongban.org import service as org_service
from tongban.rectification import service as rectification
from tongban.rectification.enums import TaskSource
from tongban.reviews import service as reviews
from tongban.reviews.models import NegativeCase, Review

#: 延缓入学或者休学审批 by its base code and by its implementation code
BASE = "511A0138000000"
IMPL = "511A0138000000-511602000000-000-115113010833722043-1-00"
NAME = "适龄儿童、少年因身体状况需要延缓入学或者休学审批"
UNKNOWN = "599Z9999999999"
FORMULA = "=HYPERLINK(\"http://x\")"


def _case(db: Session, item: str, tag: str, days_ago: int = 0) -> int:
    reviews.submit_batch(db, actor=SYSTEM_ACTOR, rows=[{
        "source": "names", "source_id": tag, "channel": "APP", "org": "巴州区", "level": "1",
        "item_code": item, "case_no": f"N-{tag}", "comment": f"名称测试{tag}",
        "rated_at": datetime.now().astimezone() - timedelta(days=days_ago)}])
    return db.scalars(select(NegativeCase.id).join(Review).where(
        Review.source == "names", Review.source_id == tag)).one()


def test_a_case_page_names_its_item_and_keeps_the_code_beside_it(db: Session) -> None:
    case_id = _case(db, IMPL, "a")
    page = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    html = page.get(f"/reviews/cases/{case_id}").text
    assert f'data-testid="item-name">{NAME}</span>' in html
    assert IMPL in html


def test_an_unknown_code_stands_muted_on_the_case_page(db: Session) -> None:
    case_id = _case(db, UNKNOWN, "b")
    page = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    html = page.get(f"/reviews/cases/{case_id}").text
    assert 'class="mono muted item-code" data-testid="item-code"' in html
    assert f">{UNKNOWN}</span>" in html and 'data-testid="item-name"' not in html


def test_the_case_list_names_items_by_base_or_implementation_code(db: Session) -> None:
    known, by_base, unknown = _case(db, IMPL, "c"), _case(db, BASE, "d"), _case(db, UNKNOWN, "e")
    page = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    html = page.get("/reviews", params={"q": "名称测试"}).text
    rows = {case_id: html.split(f'href="/reviews/cases/{case_id}"')[1].split("</tr>")[0]
            for case_id in (known, by_base, unknown)}
    assert NAME in rows[known] and IMPL not in rows[known]
    assert NAME in rows[by_base]
    assert f'data-testid="item-code" title="事项目录中没有这个编码">{UNKNOWN}</span>' in rows[unknown]
    filtered = page.get("/reviews", params={"item": BASE}).text
    assert f"事项 {NAME}" in filtered.split('data-testid="case-filter"')[1]


def test_the_case_export_names_items_and_keeps_codes_as_text(db: Session) -> None:
    _case(db, IMPL, "f")
    _case(db, FORMULA, "g")
    page = logged_in_client(db, make_user(db, role=Role.analyst))
    answer = page.get("/reviews", params={"q": "名称测试", "format": "xlsx"})
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    item, code = header.index("事项"), header.index("事项编码")
    rows = {r[code].value: r[item] for r in sheet.iter_rows(min_row=2)}
    assert rows[IMPL].value == NAME
    assert rows[FORMULA].value == FORMULA and rows[FORMULA].data_type == "s"


def test_the_dashboard_names_the_items_with_most_bad_ratings(db: Session) -> None:
    for n in range(3):
        _case(db, BASE, f"h{n}")
    page = logged_in_client(db, make_user(db, role=Role.analyst))
    table = page.get("/reviews/dashboard").text.split('data-testid="worst-items"')[1]
    table = table.split("</table>")[0]
    assert NAME in table and f">{BASE}<" not in table


def test_a_rectification_line_without_a_name_takes_the_catalogs(db: Session) -> None:
    task = rectification.create_task(
        db, actor=SYSTEM_ACTOR, source=TaskSource.city_inspection, category="其他",
        title="名称测试任务", org=org_service.resolve_org(db, ref="巴州区"),
        issued_on=date(2026, 11, 2), due_on=date(2026, 11, 30),
        lines=[rectification.LineInput(BASE, "", "办事指南未更新"),
               rectification.LineInput(UNKNOWN, "", "办事指南未更新"),
               rectification.LineInput("511A0116400001", "护照（省反馈名称）", "材料过多")])
    page = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    html = page.get(f"/rectification/tasks/{task.id}").text
    assert f'data-testid="item-name">{NAME}</span>' in html
    assert f'data-testid="item-code" title="事项目录中没有这个编码">{UNKNOWN}</span>' in html
    assert "护照（省反馈名称）" in html  # a name the feedback gave is kept


def test_the_weekly_bulletin_names_the_items_of_overdue_cases(db: Session) -> None:
    late_known, late_unknown = _case(db, BASE, "i", days_ago=40), _case(db, UNKNOWN, "j",
                                                                         days_ago=40)
    page = logged_in_client(db, make_user(db, role=Role.analyst))
    html = page.get("/reports/preview", params={"kind": "weekly",
                                                "as_of": local_today().isoformat()}).text
    rows = {case_id: html.split(f"/reviews/cases/{case_id}\"")[1].split("</tr>")[0]
            for case_id in (late_known, late_unknown)}
    assert NAME in rows[late_known]
    assert UNKNOWN in rows[late_unknown]
