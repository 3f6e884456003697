"""The audit log names its objects in Chinese: every object type an entry is written with has
a name a domain declared; the page shows the names, the API keeps the codes beside them."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

import tongban.app  # noqa: F401  (every domain's service, as in the running app)
from tests.factories import api_client, logged_in_client, make_user
from tongban.core import audit
from tongban.core.security import SYSTEM_ACTOR, Role

SRC = Path(__file__).resolve().parents[2] / "src" / "tongban"


def test_every_object_type_written_in_the_source_has_a_chinese_name() -> None:
    written = {m for path in SRC.rglob("*.py")
               for m in re.findall(r'object_type="([a-z_]+)"', path.read_text(encoding="utf-8"))}
    assert {"negative_case", "rectification_task", "user", "service_item"} <= written
    unnamed = sorted(t for t in written if audit.object_label(t) == t)
    assert unnamed == []
    assert audit.object_label("negative_case") == "差评工单"
    assert audit.object_label("rectification_task") == "整改任务"
    assert audit.object_label("user") == "用户"


def test_an_object_type_is_named_once() -> None:
    audit.name_objects({"negative_case": "差评工单"})  # the same name again is harmless
    with pytest.raises(ValueError, match="already named"):
        audit.name_objects({"negative_case": "工单"})


def test_an_unnamed_object_type_shows_its_code() -> None:
    assert audit.object_label("probe_thing") == "probe_thing"


def test_the_audit_page_and_export_name_object_types_and_actions(db: Session) -> None:
    audit.record(db, actor=SYSTEM_ACTOR, action="rectification.issued",
                 object_type="rectification_task", object_id="labels-1", reason="标签测试")
    audit.record(db, actor=SYSTEM_ACTOR, action="probe.labelled", object_type="probe_thing",
                 object_id="labels-2", reason="标签测试")
    page = logged_in_client(db, make_user(db, role=Role.admin))
    html = page.get("/admin/audit", params={"q": "标签测试"}).text
    assert 'data-testid="object-type" title="rectification_task">整改任务</span>' in html
    assert 'title="probe_thing">probe_thing</span>' in html
    assert '<option value="rectification_task" >整改任务</option>' in html
    sheet = load_workbook(io.BytesIO(page.get("/admin/audit", params={
        "q": "标签测试", "format": "xlsx"}).content)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in r), strict=True)) for r in sheet.iter_rows(min_row=2)]
    issued = next(r for r in rows if r["对象"] == "labels-1")
    assert issued["对象类型"] == "整改任务" and issued["动作代码"] == "rectification.issued"
    assert issued["动作"] == audit.label_of("rectification.issued") != "rectification.issued"


def test_the_audit_api_keeps_codes_and_adds_labels(db: Session) -> None:
    audit.record(db, actor=SYSTEM_ACTOR, action="rectification.issued",
                 object_type="rectification_task", object_id="labels-3")
    api = api_client(db, make_user(db, role=Role.admin))
    [entry] = api.get("/api/v1/audit", params={"object_id": "labels-3"}).json()["items"]
    assert (entry["object_type"], entry["object_type_label"]) == ("rectification_task", "整改任务")
    assert entry["action"] == "rectification.issued"
    assert entry["action_label"] == audit.label_of("rectification.issued") != entry["action"]
