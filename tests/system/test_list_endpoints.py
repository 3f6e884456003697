"""Every JSON list answers the one envelope: walked from the OpenAPI schema, so a new list
endpoint is checked (or fails for want of a sample parameter) without being named here."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import api_client, make_user
from tongban.app import create_app
from tongban.core.config import get_settings
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.datasharing import service as datasharing
from tongban.ledger import service as ledger

ENVELOPE = {"items", "total", "page", "page_size"}
#: Lists small by nature, answered whole (docs/development.md, "Lists"): no paging parameters.
WHOLE = {
    "/api/v1/benchmark/league",
    "/api/v1/orgs/{code}/children",
    "/api/v1/assessment/scheme-diff",
    "/api/v1/assessment/sheets/{cohort}/{period}/rank",
    "/api/v1/assessment/sheets/{cohort}/{period}/alerts",
    "/api/v1/assessment/trend/{cohort}/{org}",
    "/api/v1/errands/pool",
    "/api/v1/errands/zones",  # a county-level org each: five in 巴中
}
#: A value for each path or required query parameter of a list (demo data).
SAMPLES = {"code": "511900", "cohort": "bz-counties", "period": "2026-03", "org": "511902",
           "old": "sc-ywtb@2026.1", "new": "sc-ywtb@2026.2", "case_id": "1", "task_id": "1",
           "group_id": "1", "object_id": "1", "type_code": "township-powers",
           "indicator": "L-SV-1"}
#: Where a path's parameter names another kind of thing than the sample of its name.
PATH_SAMPLES = {"/api/v1/datasharing/datasets/{code}/deliveries": {"code": "L-DS-1"},
                "/api/v1/ledgers/{type_code}/orgs/{org}/entries": {"org": "511902001"}}


def _lists() -> dict[str, dict[str, Any]]:
    """Path → GET operation of every route whose answer is the list envelope."""
    spec = create_app().openapi()
    schemas = spec["components"]["schemas"]
    found = {}
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        answer = get["responses"].get("200", {}).get("content", {}).get("application/json", {})
        ref = answer.get("schema", {}).get("$ref", "")
        if set(schemas.get(ref.rpartition("/")[2], {}).get("properties", {})) == ENVELOPE:
            found[path] = get
    return found


def _url(path: str, operation: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """``path`` with its parameters filled in, and the required query parameters."""
    query = {}
    samples = {**SAMPLES, **PATH_SAMPLES.get(path, {})}
    for parameter in operation.get("parameters", []):
        name = parameter["name"]
        if parameter["in"] == "path":
            path = path.replace("{" + name + "}", samples[name])
        elif parameter.get("required"):
            query[name] = samples[name]
    return path, query


@pytest.fixture
def admin(db: Session) -> TestClient:
    """An administrator, with a dataset of two deliveries (the test data has no shared data)."""
    datasharing.import_catalog(
        db, actor=SYSTEM_ACTOR, catalog_name="目录.csv", fields_name="字段.csv",
        catalog=io.BytesIO("数据集编码,数据集名称,提供部门,更新频率,共享类型,开放类型,重点数据\n"
                           "L-DS-1,某数据,市民政局,月,不予共享,不开放,否\n".encode()),
        fields=io.BytesIO("数据集编码,字段名,类型,必填,格式,主键\nL-DS-1,编号,文本,是,,是\n".encode()))
    for n in (1, 2):
        datasharing.deliver(db, actor=SYSTEM_ACTOR, dataset_code="L-DS-1", filename="a.csv",
                            source=io.BytesIO(f"编号\nX-{n}\n".encode()))
    ledger.load_shipped_types(db)
    ledger.import_items(db, actor=SYSTEM_ACTOR, type_code="township-powers", filename="事项.csv",
                        source=io.BytesIO("事项编码,事项名称,类别\nL-1,甲,法定\nL-2,乙,赋权\n".encode()))
    ledger.import_items(db, actor=SYSTEM_ACTOR, type_code="internet-supervision",
                        filename="指标.csv", source=io.BytesIO(
                            "事项编码,事项名称,类别,目标值\nL-SV-1,事项认领率,政务和大数据局,100\n".encode()))
    return api_client(db, make_user(db, role=Role.admin))


def test_no_json_route_answers_a_bare_array() -> None:
    spec = create_app().openapi()
    bare = [f"{method.upper()} {path}" for path, operations in spec["paths"].items()
            for method, operation in operations.items()
            for answer in operation.get("responses", {}).values()
            if answer.get("content", {}).get("application/json", {})
            .get("schema", {}).get("type") == "array"]
    assert bare == []


def test_every_list_but_the_small_ones_takes_page_and_page_size() -> None:
    lists = _lists()
    assert set(lists) >= WHOLE and len(lists) > len(WHOLE) + 10
    for path, operation in lists.items():
        names = {p["name"] for p in operation.get("parameters", [])}
        assert ({"page", "page_size"} <= names) is (path not in WHOLE), path


def test_every_list_answers_the_envelope_with_its_total_in_the_header(admin: TestClient) -> None:
    for path, operation in _lists().items():
        url, query = _url(path, operation)
        answer = admin.get(url, params=query)
        assert answer.status_code == 200, (path, answer.text)
        body = answer.json()
        assert set(body) == ENVELOPE, path
        assert answer.headers["X-Total-Count"] == str(body["total"]), path
        assert len(body["items"]) <= body["page_size"] and body["page"] >= 1, path
        if path in WHOLE:
            assert body["total"] == len(body["items"]), path
        else:
            assert body["page_size"] == get_settings().list_page_size, path


def test_every_paged_list_refuses_a_page_larger_than_the_maximum(admin: TestClient) -> None:
    largest = get_settings().list_page_size_max
    for path, operation in _lists().items():
        if path in WHOLE:
            continue
        url, query = _url(path, operation)
        refused = admin.get(url, params={**query, "page_size": largest + 1})
        assert refused.status_code == 422, path
        assert refused.json()["detail"] == f"每页条数应在 1 到 {largest} 之间", path
        assert admin.get(url, params={**query, "page_size": largest}).status_code == 200, path


def test_every_paged_list_pages(admin: TestClient) -> None:
    walked = 0
    for path, operation in _lists().items():
        if path in WHOLE:
            continue
        url, query = _url(path, operation)
        first = admin.get(url, params={**query, "page_size": 1}).json()
        assert len(first["items"]) == min(1, first["total"]), path
        if first["total"] < 2:
            continue
        second = admin.get(url, params={**query, "page_size": 1, "page": 2}).json()
        assert (second["page"], second["total"]) == (2, first["total"]), path
        assert second["items"] != first["items"], path
        walked += 1
    assert walked >= 8  # the demo city fills most lists


def test_an_unknown_sort_field_is_refused_in_chinese_by_every_sortable_list(
        admin: TestClient) -> None:
    for path, operation in _lists().items():
        if "sort" not in {p["name"] for p in operation.get("parameters", [])}:
            continue
        url, query = _url(path, operation)
        refused = admin.get(url, params={**query, "sort": "-nope"})
        assert refused.status_code == 422, path
        assert refused.json()["detail"].startswith("不能按「nope」排序；可选："), path
