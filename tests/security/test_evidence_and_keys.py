"""Evidence is what it says, idempotency keys are honest, exports never crash on names, the
item-batch upload takes files, downloads say their media types (issue #22)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import (
    api_client,
    csrf_of,
    errand_world,
    logged_in_client,
    make_errand,
    make_runner,
    make_user,
    scheme_yaml,
)
from tongban.app import create_app
from tongban.assessment import importers
from tongban.assessment import service as assessment
from tongban.core.errors import DomainError
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.errand import evidence, service
from tongban.errand.enums import ErrandAction
from tongban.errand.models import ErrandItem
from tongban.org.service import actor_for


def picture(kind: str = "JPEG", size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, kind)
    return out.getvalue()


@pytest.fixture(autouse=True)
def _uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path))
    from tongban.core.config import get_settings
    get_settings.cache_clear()


def _grabbed(db: Session):  # type: ignore[no-untyped-def]
    item, _ = errand_world(db)
    runner = make_runner(db)
    errand = make_errand(db, item=item)
    actor = actor_for(runner.user)
    service.grab(db, actor=actor, errand_id=errand.id, runner_id=runner.id)
    return errand, runner, actor


# ------------------------------------------------------------------ photos of hand-overs

def test_a_hand_over_may_name_the_runners_own_photo_of_that_errand(db: Session) -> None:
    errand, _, actor = _grabbed(db)
    photo = evidence.add_photo(db, actor=actor, errand=errand, content=picture())
    service.transition(db, actor=actor, errand=errand, action=ErrandAction.pick_up,
                       photo_ref=f"file:{photo.id}")
    assert errand.handovers[-1].photo_ref == f"file:{photo.id}"
    assert photo.handover_id == errand.handovers[-1].id


@pytest.mark.parametrize("ref", ["file:../../logout", "https://evil.example/x.jpg",
                                 "file:99999999", "file:1e3", "javascript:alert(1)"])
def test_a_hand_over_naming_anything_but_an_own_photo_is_refused(db: Session, ref: str) -> None:
    errand, _, actor = _grabbed(db)
    with pytest.raises(DomainError, match="照片引用无效"):
        service.transition(db, actor=actor, errand=errand, action=ErrandAction.pick_up,
                           photo_ref=ref)
    assert errand.state == "accepted" and not errand.handovers


def test_a_hand_over_may_not_name_another_errands_photo(db: Session) -> None:
    errand, runner, actor = _grabbed(db)
    other = make_errand(db, item=errand.item)
    service.grab(db, actor=actor, errand_id=other.id, runner_id=runner.id)
    theirs = evidence.add_photo(db, actor=actor, errand=other, content=picture())
    with pytest.raises(DomainError, match="照片引用无效"):
        service.transition(db, actor=actor, errand=errand, action=ErrandAction.pick_up,
                           photo_ref=f"file:{theirs.id}")


def test_a_photo_uploaded_by_someone_else_or_used_before_cannot_be_named(db: Session) -> None:
    errand, _, actor = _grabbed(db)
    staff = actor_for(make_user(db, role=Role.analyst))
    by_staff = evidence.add_photo(db, actor=staff, errand=errand, content=picture())
    with pytest.raises(DomainError, match="照片引用无效"):
        service.transition(db, actor=actor, errand=errand, action=ErrandAction.pick_up,
                           photo_ref=f"file:{by_staff.id}")
    own = evidence.add_photo(db, actor=actor, errand=errand, content=picture())
    service.transition(db, actor=actor, errand=errand, action=ErrandAction.pick_up,
                       photo_ref=f"file:{own.id}")
    with pytest.raises(DomainError, match="照片引用无效"):
        service.transition(db, actor=actor, errand=errand, action=ErrandAction.at_window,
                           photo_ref=f"file:{own.id}")


def test_the_api_uploads_a_photo_and_a_step_names_it(db: Session) -> None:
    errand, runner, _ = _grabbed(db)
    client = api_client(db, runner.user)
    uploaded = client.post(f"/api/v1/errands/{errand.id}/photos",
                           files={"file": ("a.jpg", picture(), "image/jpeg")})
    assert uploaded.status_code == 201, uploaded.text
    ref = uploaded.json()["photo_ref"]
    step = client.post(f"/api/v1/errands/{errand.id}/actions/pick_up", json={"photo_ref": ref})
    assert step.status_code == 200, step.text
    assert step.json()["handovers"][-1]["photo_ref"] == ref
    forged = client.post(f"/api/v1/errands/{errand.id}/actions/at_window",
                         json={"photo_ref": "file:../../logout"})
    assert forged.status_code == 400 and "照片引用无效" in forged.json()["detail"]


@pytest.mark.parametrize("content", [
    b"\xff\xd8\xff\xe0" + b"\x00" * 200,          # a JPEG's first bytes, then nothing
    picture("PNG")[:60],                          # a PNG cut short
    b"\x89PNG\r\n\x1a\n" + b"<svg onload=alert(1)>",  # markup behind a PNG's signature
], ids=["jpeg-magic-only", "truncated-png", "png-magic-then-markup"])
def test_a_file_that_only_starts_like_an_image_is_refused(db: Session, content: bytes) -> None:
    errand, _, actor = _grabbed(db)
    with pytest.raises(DomainError, match="不是完整有效的图片"):
        evidence.add_photo(db, actor=actor, errand=errand, content=content)


def test_a_decompression_bomb_is_refused(db: Session) -> None:
    errand, _, actor = _grabbed(db)
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG")  # 100 megapixels in a few KB
    with pytest.raises(DomainError):
        evidence.add_photo(db, actor=actor, errand=errand, content=out.getvalue())


def test_a_rectification_attachment_that_only_starts_like_a_png_is_refused(db: Session) -> None:
    from tongban.core import uploads

    with pytest.raises(DomainError, match="不是完整有效的图片"):
        uploads.check_file("证明.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    assert uploads.check_file("证明.png", picture("PNG")).content_type == "image/png"


# ------------------------------------------------------------------ idempotency keys

def _errand_body(item_id: int, **changes: object) -> dict[str, object]:
    return {"item_id": item_id, "contact_name": "王芳", "phone": "13912345678", "lat": 31.868,
            "lng": 106.748, "address": "江北大道1号", "authorised": True, **changes}


def test_the_same_key_with_the_same_body_answers_the_first_errand(db: Session) -> None:
    item, _ = errand_world(db)
    client = api_client(db, make_user(db, role=Role.analyst))
    first = client.post("/api/v1/errands", json=_errand_body(item.id),
                        headers={"Idempotency-Key": "order-1"})
    again = client.post("/api/v1/errands", json=_errand_body(item.id),
                        headers={"Idempotency-Key": "order-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False


def test_the_same_key_with_another_body_is_refused_naming_the_key(db: Session) -> None:
    item, _ = errand_world(db)
    client = api_client(db, make_user(db, role=Role.analyst))
    first = client.post("/api/v1/errands", json=_errand_body(item.id),
                        headers={"Idempotency-Key": "order-2"})
    other = client.post("/api/v1/errands", json=_errand_body(item.id, address="另一个地址"),
                        headers={"Idempotency-Key": "order-2"})
    assert first.status_code == 201
    assert other.status_code == 422 and "order-2" in other.json()["detail"]


# ------------------------------------------------------------------ exports

def test_a_scheme_and_org_named_as_formulas_stay_text_in_the_sheet_template(db: Session) -> None:
    from tests.factories import make_cohort
    from tongban.org import service as org_service

    formula = '=HYPERLINK("http://evil.example","点击")'
    make_cohort(db, code="t-cohort", members=["巴州区", "恩阳区"])
    org_service.resolve_org(db, ref="巴州区").name = "=1+1"
    yaml = scheme_yaml(code="t-formula").replace("name: 测试方案", f"name: '{formula}'")
    scheme, _ = assessment.load_scheme(db, actor=SYSTEM_ACTOR, text=yaml)
    name, body = importers.sheet_template(db, actor=SYSTEM_ACTOR,
                                          scheme_ref=f"{scheme.code}@{scheme.version}")
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    texts = {c.value: c for row in sheet.iter_rows() for c in row if c.value is not None}
    assert all(c.data_type != "f" for c in texts.values())
    title = next(v for v in texts if isinstance(v, str) and v.startswith("=HYPERLINK"))
    assert texts[title].data_type == "s" and texts["=1+1"].data_type == "s"
    assert "@" not in name and name.endswith("考核通报模板.xlsx")


@pytest.mark.parametrize("department", ["a/b", "x[1]:*?", "'引号'", "很" * 40])
def test_a_suggestions_export_named_for_any_department_downloads(db: Session,
                                                                 department: str) -> None:
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    answer = client.get("/benchmark/suggestions", params={"format": "xlsx",
                                                          "department": department})
    assert answer.status_code == 200
    book = load_workbook(io.BytesIO(answer.content))
    assert len(book.sheetnames[0]) <= 31


def test_sheet_titles_are_made_safe_and_distinct() -> None:
    from tongban.core.export import sheet_title

    taken: set[str] = set()
    names = [sheet_title(n, taken) for n in ("a/b", "a_b", "A_B", "'x'", "", "长" * 40)]
    assert names[:5] == ["a_b", "a_b_2", "A_B_3", "x", "表"]
    assert len(names[5]) == 31 and len(set(n.casefold() for n in names)) == len(names)


# ------------------------------------------------------------------ the item-batch upload

def test_the_item_batch_page_publishes_an_uploaded_file(db: Session) -> None:
    from tests.security.import_paths import csv_bytes
    from tongban.catalog.models import ServiceItem
    from tongban.errand import items

    client = logged_in_client(db, make_user(db, role=Role.admin))
    code = db.scalars(select(ServiceItem.impl_code).order_by(ServiceItem.id).limit(1)).one()
    row = {"item_code": code, "name": "上传的代办事项", "hall": "市政务服务中心",
           "window": "2号窗口"}
    data = csv_bytes([list(items.COLUMNS.values()), [row.get(c, "") for c in items.COLUMNS]])
    answer = client.post("/errands/items/publish", data={
        "csrf_token": csrf_of(client, "/errands/items"), "published_on": "2026-12-01"},
        files={"file": ("第三批.csv", data, "text/csv")})
    assert answer.status_code == 200, answer.text[-2000:]
    assert db.scalar(select(ErrandItem.name).where(ErrandItem.item_code == code)) \
        == "上传的代办事项"


# ------------------------------------------------------------------ OpenAPI

def test_file_downloads_document_their_real_media_types() -> None:
    document = create_app().openapi()
    report = document["paths"]["/api/v1/reports/{report_id}/files/{fmt}"]["get"]
    media = set(report["responses"]["200"]["content"])
    assert media == {"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     "text/html"}
    attachment = document["paths"]["/api/v1/rectification/attachments/{attachment_id}"]["get"]
    assert "application/json" not in attachment["responses"]["200"]["content"]
    assert "application/pdf" in attachment["responses"]["200"]["content"]
