"""The pages of 数据开放共享 as their users meet them: the analyst's overview with a failing
cascade and the city's points at risk, a liaison's department page with its own points at
risk and its late datasets, a delivery uploaded on the dataset's page, the catalog's form
registering where a department publishes its data (the password never shown)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.datasharing.conftest import Catalog
from tests.factories import chart_option, csrf_of, logged_in_client, make_user
from tongban.core.db import utcnow
from tongban.core.security import Role
from tongban.datasharing.enums import CascadeKind, CascadeOutcome
from tongban.datasharing.models import Dataset, Delivery
from tongban.datasharing.service import cascade


def _push(db: Session, code: str, outcome: CascadeOutcome) -> None:
    dataset = db.scalars(select(Dataset).where(Dataset.code == code)).one()
    cascade.record_attempt(db, dataset_id=dataset.id, delivery_id=None, kind=CascadeKind.push,
                           outcome=outcome, status=200 if outcome is CascadeOutcome.ok else 422,
                           standard="v1", key=code, at=utcnow(), alert=False,
                           message="" if outcome is CascadeOutcome.ok
                           else "级联标准已更新为v2（本次按v1）：缺少 field_list")
    db.flush()


def test_the_analyst_sees_the_failing_cascade_and_the_citys_points_at_risk(
        db: Session, catalog: Catalog) -> None:
    _push(db, "T-MKT-1", CascadeOutcome.refused)
    _push(db, "T-MKT-2", CascadeOutcome.ok)
    _push(db, "T-CIV-1", CascadeOutcome.ok)
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    page = client.get("/datasharing")
    assert page.status_code == 200
    alert = page.text.split('data-testid="cascade-alert"')[1].split("</div>")[0]
    assert "1 个应共享的数据集向省平台级联失败（共 3 个）" in alert
    assert "市场主体登记信息" in alert and "缺少 field_list" in alert
    # the province's 数据共享级联 (E01, 3.3 points): one of the city's three is failing
    risk = page.text.split('data-testid="city-points-at-risk"')[1].split("</div>")[0]
    assert "E01 数据共享级联" in risk and "将失 1.1 分" in risk
    departments = page.text.split('data-testid="departments"')[1].split("</section>")[0]
    assert departments.index("市民政局") >= 0 and departments.index("市市场监督管理局") >= 0
    trend = chart_option(page.text, "chart-trend")
    assert [s["name"] for s in trend["series"]] == ["归集率", "共享率", "开放率", "质量得分"]
    assert len(trend["xAxis"]["data"]) == 12  # a year: the spring's cascade break stays in view
    assert 'data-testid="cascade-healthy"' not in page.text
    _push(db, "T-MKT-1", CascadeOutcome.ok)  # retried under the new standard
    healthy = client.get("/datasharing").text
    assert 'data-testid="cascade-alert"' not in healthy
    line = healthy.split('data-testid="cascade-healthy"')[1].split("</p>")[0]
    assert "3 个应共享的数据集最近一次推送均成功" in line


def test_a_liaison_works_on_its_departments_page(db: Session, catalog: Catalog) -> None:
    _push(db, "T-MKT-1", CascadeOutcome.refused)
    _push(db, "T-MKT-2", CascadeOutcome.ok)
    liaison = make_user(db, role=Role.liaison, org=catalog.market.code)
    client = logged_in_client(db, liaison)
    landing = client.get("/datasharing", follow_redirects=False)
    assert landing.headers["location"] == f"/datasharing/departments/{catalog.market.code}"
    page = client.get(landing.headers["location"])
    assert page.status_code == 200 and "婚姻登记信息" not in page.text
    risk = page.text.split('data-testid="points-at-risk"')[1].split("</div>")[0]
    assert "1/2 个应共享的数据集未成功级联" in risk and "D02 数据共享率" in risk
    assert "将失 5 分" in risk
    late = page.text.split('data-testid="late"')[1].split("</section>")[0]
    assert "特种设备内部台账" in late and "从未交付" in late
    # a delivery uploaded on the dataset's page: checked, recorded, the result said
    token = csrf_of(client, "/datasharing/datasets/T-MKT-2")
    sent = client.post("/datasharing/datasets/T-MKT-2/deliveries",
                       data={"csrf_token": token},
                       files={"file": ("食品.csv", "许可证号,统一社会信用代码\nSP-1,11511301008778255G\n"
                                       .encode(), "text/csv")}, follow_redirects=False)
    assert sent.status_code == 303
    shown = client.get(sent.headers["location"]).text
    assert "已交付 1 行：无效 1 格" in shown
    assert "第2行：统一社会信用代码「115****255G」" not in shown  # codes of firms are not masked
    assert "统一社会信用代码「11511301008778255G」" in shown
    delivery = db.scalars(select(Delivery).join(Dataset).where(Dataset.code == "T-MKT-2")).one()
    assert delivery.delivered_by == liaison.username
    # another department's dataset: not found for this liaison
    assert client.get("/datasharing/datasets/T-CIV-1").status_code == 404


def test_the_catalogs_form_registers_a_source_and_never_shows_its_password(
        db: Session, catalog: Catalog) -> None:
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    form = client.get("/datasharing/catalog/edit?code=T-MKT-2")
    assert form.status_code == 200
    token = csrf_of(client, "/datasharing/catalog/edit?code=T-MKT-2")
    fields = {"field_name": ["许可证号", "统一社会信用代码"], "field_type": ["text", "text"],
              "field_format": ["", "credit_code"], "field_required": ["0", "1"],
              "field_key": ["0"]}
    base = {"csrf_token": token, "code": "T-MKT-2", "name": "食品经营许可信息",
            "department": catalog.market.code, "frequency": "month",
            "share_type": "conditional", "open_type": "conditional", **fields}
    refused = client.post("/datasharing/catalog/edit", data={
        **base, "pull_url": "sqlite:////var/lib/tongban/tongban.db", "pull_table": "user"})
    assert refused.status_code == 422 and "不支持从 sqlite 拉取" in refused.text
    saved = client.post("/datasharing/catalog/edit", data={
        **base, "pull_url": "postgresql+psycopg://reader:Secr3t@10.1.2.3/market",
        "pull_table": "food_licences"}, follow_redirects=False)
    assert saved.status_code == 303
    page = client.get("/datasharing/datasets/T-MKT-2").text
    assert "postgresql+psycopg://reader:***@10.1.2.3/market" in page and "Secr3t" not in page
    again = client.get("/datasharing/catalog/edit?code=T-MKT-2").text
    assert "Secr3t" not in again and "留空保持已登记的地址" in again
    # saved again with the address left empty: the source is kept
    client.post("/datasharing/catalog/edit", data={**base, "pull_url": "",
                                                   "pull_table": "food_licences"})
    dataset = db.scalars(select(Dataset).where(Dataset.code == "T-MKT-2")).one()
    db.refresh(dataset)
    assert dataset.pull_url.endswith("@10.1.2.3/market") and dataset.pull_table == "food_licences"
    assert [f.format for f in dataset.fields] == ["", "credit_code"]
    assert datetime.now(UTC) >= dataset.updated_at


def test_the_api_answers_a_liaison_for_its_own_department(db: Session, catalog: Catalog) -> None:
    from tests.factories import api_client

    client = api_client(db, make_user(db, role=Role.liaison, org=catalog.market.code))
    listed = client.get("/api/v1/datasharing/datasets").json()
    assert [d["code"] for d in listed["items"]] == ["T-MKT-1", "T-MKT-2", "T-MKT-3"]
    assert listed["items"][0]["fields"][0] == {
        "name": "统一社会信用代码", "type": "text", "required": True, "format": "credit_code",
        "primary_key": True}
    sent = client.post("/api/v1/datasharing/datasets/T-MKT-2/deliveries?on=2026-11-03", files={
        "file": ("食品.csv", "许可证号,统一社会信用代码\nSP-1,11511301008778255F\nSP-1,\n".encode(),
                 "text/csv")})
    assert sent.status_code == 201
    assert {k: sent.json()[k] for k in ("rows", "missing_required", "duplicate_keys")} == {
        "rows": 2, "missing_required": 1, "duplicate_keys": 1}
    assert sent.json()["fields"]["统一社会信用代码"] == {"invalid": 0, "missing": 1}
    quality = client.get("/api/v1/datasharing/quality?period=2026-11").json()
    assert [q["department_code"] for q in quality["items"]] == [catalog.market.code]
    assert quality["items"][0]["should_collect"] == 3
    assert client.get("/api/v1/datasharing/quality",
                      params={"department": catalog.civil.code}).status_code in (403, 404)
    cascade_ = client.get("/api/v1/datasharing/cascade").json()
    assert [c["dataset"] for c in cascade_["items"]] == ["T-MKT-1", "T-MKT-2"]  # not 不予共享
