"""The catalog through the API and the /catalog page: search, paging, filters, one item, and
imports (all or nothing, idempotent, managers only)."""

from __future__ import annotations

import io

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import api_client, csrf_of, logged_in_client, make_user
from tongban.catalog.models import ServiceItem
from tongban.core.security import Role

CODE = "511A0138000000-511602000000-000-115113010833722043-1-00"
NAME = "适龄儿童、少年因身体状况需要延缓入学或者休学审批"
HEADER = "itemCode,name,department,taskType\n"
GOOD = HEADER + ("511B0001-511602000000-000-1-1-00,网页导入的事项,区测试局,1\n"
                 "511B0002-511602000000-000-1-1-00,网页导入的另一事项,区测试局,公共服务\n")


def _items(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(ServiceItem)) or 0


def test_the_api_searches_names_departments_and_codes(db: Session) -> None:
    client = api_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    by_name = client.get("/api/v1/catalog/items", params={"q": "延缓入学"}).json()
    assert [(i["impl_code"], i["name"], i["item_type_label"]) for i in by_name["items"]] == [
        (CODE, NAME, "行政许可")]
    by_department = client.get("/api/v1/catalog/items", params={"q": "教科体"}).json()
    assert by_department["total"] == 23
    assert {i["department"] for i in by_department["items"]} == {"区教科体局"}
    by_code = client.get("/api/v1/catalog/items", params={"q": "511A0138"}).json()
    assert CODE in [i["impl_code"] for i in by_code["items"]]


def test_the_api_pages_and_filters(db: Session) -> None:
    client = api_client(db, make_user(db, role=Role.analyst))
    first = client.get("/api/v1/catalog/items", params={
        "department": "区行政审批局", "item_type": "1", "page_size": 5})
    assert first.status_code == 200
    body = first.json()
    assert body["total"] > 5 and len(body["items"]) == 5
    assert first.headers["X-Total-Count"] == str(body["total"])
    assert all(i["department"] == "区行政审批局" and i["item_type"] == "1" for i in body["items"])
    second = client.get("/api/v1/catalog/items", params={
        "department": "区行政审批局", "item_type": "1", "page_size": 5, "page": 2}).json()
    assert not {i["id"] for i in body["items"]} & {i["id"] for i in second["items"]}
    services = client.get("/api/v1/catalog/items", params={"item_type": "20"}).json()
    assert services["total"] and all(i["item_type_label"] == "公共服务" for i in services["items"])


def test_one_item_by_id_or_by_implementation_code(db: Session) -> None:
    client = api_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    found = client.get(f"/api/v1/catalog/items/by-code/{CODE}")
    assert found.status_code == 200 and found.json()["name"] == NAME
    same = client.get(f"/api/v1/catalog/items/{found.json()['id']}").json()
    assert same["impl_code"] == CODE and same["org_name"] == "巴中市"
    assert client.get("/api/v1/catalog/items/by-code/511ZZZ-no-such").status_code == 404
    assert client.get("/api/v1/catalog/items/999999").status_code == 404


def test_an_import_through_the_api_adds_then_changes_nothing(db: Session) -> None:
    client = api_client(db, make_user(db, role=Role.analyst))
    before = _items(db)
    added = client.post("/api/v1/catalog/imports",
                        files={"file": ("清单.csv", GOOD.encode(), "text/csv")})
    assert added.status_code == 201, added.text
    body = added.json()
    assert {k: body[k] for k in ("org_code", "added", "changed", "unchanged", "removed")} == {
        "org_code": "511900", "added": 2, "changed": 0, "unchanged": 0, "removed": 0}
    # a department of its own: the rest of the catalog is kept, and the answer says so
    assert body["partial"] and body["departments"] == ["区测试局"] and body["kept"] == 1135
    again = client.post("/api/v1/catalog/imports",
                        files={"file": ("清单.csv", GOOD.encode(), "text/csv")}).json()
    assert (again["added"], again["changed"], again["unchanged"], again["removed"]) == (0, 0, 2, 0)
    assert _items(db) == before + 2


def test_an_xlsx_list_imports_like_a_csv(db: Session) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in GOOD.splitlines():
        sheet.append(line.split(","))
    data = io.BytesIO()
    book.save(data)
    client = api_client(db, make_user(db, role=Role.admin))
    answer = client.post("/api/v1/catalog/imports", files={"file": ("清单.xlsx", data.getvalue())})
    assert answer.status_code == 201, answer.text
    assert answer.json()["added"] == 2
    found = client.get("/api/v1/catalog/items", params={"q": "网页导入的另一事项"}).json()
    assert found["items"][0]["item_type_label"] == "公共服务"


def test_a_bad_list_is_refused_whole_with_its_rows_and_columns(db: Session) -> None:
    client = api_client(db, make_user(db, role=Role.analyst))
    before = _items(db)
    bad = GOOD + ("511B0003-1-00,,区测试局,1\n"
                  "511B0004-1-00,无类型,区测试局,99\n"
                  "511B0005-1-00,也无类型,区测试局,99\n")
    refused = client.post("/api/v1/catalog/imports",
                          files={"file": ("坏清单.csv", bad.encode(), "text/csv")})
    assert refused.status_code == 422
    body = refused.json()
    assert body["error_count"] == 3
    groups = {(e["column"], tuple(map(str, e["rows"]))) for e in body["errors"]}
    assert ("name", ("4",)) in groups and ("item_type", ("[5, 6]",)) in groups
    assert all(e["file"] == "坏清单.csv" for e in body["errors"])
    assert _items(db) == before  # the two good rows were not kept either


def test_a_liaison_may_read_but_not_import(db: Session) -> None:
    user = make_user(db, role=Role.liaison, org="巴州区")
    client = api_client(db, user)
    before = _items(db)
    assert client.post("/api/v1/catalog/imports",
                       files={"file": ("清单.csv", GOOD.encode(), "text/csv")}).status_code == 403
    page = logged_in_client(db, user)
    listed = page.get("/catalog", params={"q": "延缓入学"})
    assert listed.status_code == 200 and NAME in listed.text
    assert 'href="/catalog"' in listed.text  # in the menu
    assert 'data-testid="catalog-import"' not in listed.text
    posted = page.post("/catalog/import", data={"csrf_token": csrf_of(page)},
                       files={"file": ("清单.csv", GOOD.encode(), "text/csv")},
                       follow_redirects=False)
    assert posted.status_code == 403
    assert _items(db) == before


def test_the_page_filters_by_department_and_type_and_pages(db: Session) -> None:
    page = logged_in_client(db, make_user(db, role=Role.leader))
    html = page.get("/catalog", params={"department": "区行政审批局", "item_type": "1",
                                        "page_size": 3}).text
    rows = html.split('data-testid="catalog-items"')[1].split("</table>")[0]
    assert rows.count('data-label="事项名称"') == 3
    assert rows.count("区行政审批局</td>") == 3 and rows.count("行政许可</span>") == 3
    assert "区教科体局</td>" not in rows
    assert 'href="/catalog?department=' in html and "page=2" in html  # the pager keeps filters


def test_a_manager_imports_on_the_page_and_sees_a_refusal_with_its_rows(db: Session) -> None:
    page = logged_in_client(db, make_user(db, role=Role.admin))
    form = page.get("/catalog").text
    assert 'data-testid="catalog-import"' in form
    refused = page.post("/catalog/import", data={"csrf_token": csrf_of(page, "/catalog")},
                        files={"file": ("坏清单.csv", (HEADER + "bad code!,名称,区测试局,1\n").encode(),
                                        "text/csv")})
    assert refused.status_code == 422
    assert 'data-testid="import-errors"' in refused.text and "第2行" in refused.text
    assert 'name="dry_run" value="1" checked' in form  # a preview first, by default
    preview = page.post("/catalog/import",
                        data={"csrf_token": csrf_of(page, "/catalog"), "dry_run": "1"},
                        files={"file": ("清单.csv", GOOD.encode(), "text/csv")})
    shown = preview.text.split('data-testid="catalog-preview"')[1].split("</div>")[0]
    assert "将新增 2 项" in shown and "网页导入的事项" in shown and "尚未写入" in shown
    assert "只替换这些部门的事项" in shown  # one department: the others are kept
    assert 'name="dry_run" value="1" checked' not in preview.text
    assert _items(db) == 1135
    done = page.post("/catalog/import", data={"csrf_token": csrf_of(page, "/catalog")},
                     files={"file": ("清单.csv", GOOD.encode(), "text/csv")})
    assert done.status_code == 200 and "已新增 2 项" in done.text
    assert "网页导入的事项" in page.get("/catalog", params={"q": "网页导入"}).text
    assert _items(db) == 1137
