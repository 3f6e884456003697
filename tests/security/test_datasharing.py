"""Attacks on 数据开放共享: a catalog whose names are formulas or markup comes back out of the
CSV export as text and out of the pages escaped; personal numbers in a delivery's examples are
masked on every output; a liaison may neither edit the catalog nor register a source for the
server to fetch (the sources refused are in tests/datasharing/test_pull.py)."""

from __future__ import annotations

import csv
import io

from sqlalchemy.orm import Session

from tests.factories import api_client, csrf_of, logged_in_client, make_user
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.datasharing import service
from tongban.org import service as org_service

NAMES = ["=HYPERLINK(\"http://evil.example\",\"点我\")", "+cmd|' /C calc'!A0",
         "<script>alert(1)</script>信息"]


def _catalog(db: Session) -> None:
    out = io.StringIO()
    csv.writer(out).writerows([f"S-{n}", name, "市民政局", "月", "无条件", "开放", "否"]
                              for n, name in enumerate(NAMES))
    rows = out.getvalue()
    fields = "".join(f"S-{n},身份证号,文本,是,身份证号,是\n" for n in range(len(NAMES)))
    service.import_catalog(
        db, actor=SYSTEM_ACTOR, catalog_name="目录.csv", fields_name="字段.csv",
        catalog=io.BytesIO(("数据集编码,数据集名称,提供部门,更新频率,共享类型,开放类型,重点数据\n"
                            + rows).encode()),
        fields=io.BytesIO(("数据集编码,字段名,类型,必填,格式,主键\n" + fields).encode()))


def test_the_catalog_export_gives_formulas_back_as_text(db: Session) -> None:
    _catalog(db)
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    answer = client.get("/datasharing/catalog/datasets.csv")
    assert answer.status_code == 200
    names = [row[1] for row in csv.reader(io.StringIO(answer.content.decode("utf-8-sig")))][1:]
    assert names[:2] == ["'" + NAMES[0], "'" + NAMES[1]]
    assert names[2] == NAMES[2]  # not a formula: as it was


def test_names_are_escaped_on_the_pages(db: Session) -> None:
    _catalog(db)
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    for path in ("/datasharing/catalog", "/datasharing/datasets/S-2",
                 "/datasharing/departments/" + org_service.resolve_org(db, ref="市民政局").code):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "<script>alert(1)</script>" not in page.text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;信息" in page.text, path


def test_personal_numbers_are_masked_in_every_example(db: Session) -> None:
    _catalog(db)
    bad = "511902200101011230"  # a wrong check digit: shown as an example of a bad cell
    service.deliver(db, actor=SYSTEM_ACTOR, dataset_code="S-2", filename="a.csv",
                    source=io.BytesIO(f"身份证号\n{bad}\n".encode()))
    analyst = make_user(db, role=Role.analyst)
    page = logged_in_client(db, analyst).get("/datasharing/datasets/S-2").text
    api = api_client(db, analyst).get("/api/v1/datasharing/datasets/S-2/deliveries").text
    for text in (page, api):
        assert bad not in text and "511*************30" in text


def test_a_liaison_neither_edits_the_catalog_nor_registers_a_source(db: Session) -> None:
    _catalog(db)
    org = org_service.resolve_org(db, ref="市民政局")
    client = logged_in_client(db, make_user(db, role=Role.liaison, org=org.code))
    assert client.get("/datasharing/catalog/edit?code=S-2").status_code == 403
    token = csrf_of(client)
    answer = client.post("/datasharing/catalog/edit", data={
        "csrf_token": token, "code": "S-2", "name": "x", "department": org.code,
        "frequency": "month", "share_type": "unconditional", "open_type": "open",
        "field_name": "身份证号", "field_type": "text", "field_format": "id_card",
        "pull_url": "http://169.254.169.254/latest/meta-data/"})
    assert answer.status_code == 403
    assert service.get_dataset(db, actor=SYSTEM_ACTOR, code="S-2").pull_url == ""
