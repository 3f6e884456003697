"""Errand items in batches: publishing from a file or the form (managers), all or nothing,
idempotent by the publication date, items linked to the catalog; the page."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import csrf_of, errand_world, logged_in_client, make_errand, make_user
from tongban.catalog.models import ServiceItem
from tongban.core.audit import AuditEntry
from tongban.core.errors import DomainError, PermissionDenied, ValidationFailed
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.errand import items, service
from tongban.errand.models import ErrandItem
from tongban.org.service import actor_for

SEPT, OCT = date(2026, 9, 1), date(2026, 10, 8)


def _catalog(db: Session, n: int = 2) -> list[tuple[str, str]]:
    return [(c, name) for c, name in db.execute(
        select(ServiceItem.impl_code, ServiceItem.name).order_by(ServiceItem.id).limit(n))]


def _file(*lines: str) -> io.BytesIO:
    head = "事项编码,事项名称,类别,收费(元),材料,办理大厅,窗口,时限(工作日),资质\n"
    return io.BytesIO((head + "\n".join(lines) + "\n").encode())


def _lines(db: Session) -> list[str]:
    (a, _), (b, _) = _catalog(db)
    return [f"{a},,社保,0,身份证、社保卡,市政务服务中心,3号窗口,2,",
            f"{b},代办b,不动产,30.5,不动产权证书;身份证,不动产登记中心,1号窗口,5,不动产"]


def test_a_file_publishes_the_next_batch_with_catalog_names(db: Session) -> None:
    errand_world(db)  # batches 1 and 2 exist
    done = items.publish_file(db, actor=SYSTEM_ACTOR, published_on=OCT, source=_file(*_lines(db)),
                              filename="第三批.csv")
    assert done.as_dict() == {"batch": 3, "added": 2, "changed": 0, "unchanged": 0}
    (code_a, name_a), (code_b, _) = _catalog(db)
    first = db.scalar(select(ErrandItem).where(ErrandItem.item_code == code_a,
                                               ErrandItem.batch == 3))
    assert first is not None and first.name == name_a and first.sla_days == 2
    assert first.document_list == ["身份证", "社保卡"]
    second = db.scalar(select(ErrandItem).where(ErrandItem.item_code == code_b,
                                                ErrandItem.batch == 3))
    assert second is not None and second.fee_cents == 3050 and second.qualification == "不动产"
    assert [b.number for b in items.batches(db, actor=SYSTEM_ACTOR)][:1] == [3]
    assert first in service.active_items(db)


def test_the_same_file_on_the_same_date_changes_nothing(db: Session) -> None:
    errand_world(db)
    lines = _lines(db)
    items.publish_file(db, actor=SYSTEM_ACTOR, published_on=OCT, source=_file(*lines),
                       filename="批.csv")
    again = items.publish_file(db, actor=SYSTEM_ACTOR, published_on=OCT, source=_file(*lines),
                               filename="批.csv")
    assert again.as_dict() == {"batch": 3, "added": 0, "changed": 0, "unchanged": 2}


def test_a_bad_row_publishes_nothing_and_names_the_row_column_and_reason(db: Session) -> None:
    errand_world(db)
    lines = _lines(db)
    with pytest.raises(ValidationFailed) as refused:
        items.publish_file(db, actor=SYSTEM_ACTOR, published_on=OCT, filename="批.csv",
                           source=_file(lines[0], "ABC-1,,,x,,,,1.5,", lines[0], "NOPE-404,,,0,,,,1,"))
    text = "\n".join(refused.value.errors.lines())
    assert "事项目录中没有 NOPE-404" in text and "「收费(元)」列第3行" in text
    assert "「时限(工作日)」列第3行" in text and "重复" in text
    assert db.scalar(select(ErrandItem).where(ErrandItem.batch == 3)) is None


def test_only_managers_publish(db: Session) -> None:
    errand_world(db)
    liaison = actor_for(make_user(db, role=Role.liaison, org="511902"))
    with pytest.raises(PermissionDenied):
        items.publish_file(db, actor=liaison, published_on=OCT, source=_file(*_lines(db)),
                           filename="批.csv")


def test_the_page_lists_batches_and_publishes_from_the_form(db: Session) -> None:
    errand_world(db)
    (code, name), _ = _catalog(db)
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    page = client.get("/errands/items")
    assert page.status_code == 200 and 'data-testid="batch-2"' in page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    done = client.post("/errands/items/publish", data={
        "csrf_token": csrf, "published_on": "2026-10-08", "item_code": code, "category": "社保",
        "sla_days": "3", "fee": "0"}, follow_redirects=False)
    assert done.status_code == 303, done.text
    page = client.get("/errands/items")
    assert 'data-testid="batch-3"' in page.text and name in page.text
    liaison = logged_in_client(db, make_user(db, role=Role.liaison, org="511902"))
    assert 'data-testid="publish-batch"' not in liaison.get("/errands/items").text


def test_a_withdrawn_item_leaves_the_request_page_and_comes_back(db: Session) -> None:
    plain, _ = errand_world(db)
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    csrf = client.get("/errands/items").text.split('name="csrf_token" value="')[1].split('"')[0]
    done = client.post(f"/errands/items/{plain.id}/withdraw", data={"csrf_token": csrf},
                       follow_redirects=False)
    db.refresh(plain)
    assert done.status_code == 303 and plain.is_active is False
    assert plain.id not in [i.id for i in service.active_items(db)]
    assert f'value="{plain.id}"' not in client.get("/errand/new").text
    with pytest.raises(DomainError):  # a request for it is refused
        make_errand(db, item=plain)
    assert f'data-testid="item-{plain.id}-restore"' in client.get("/errands/items").text
    # asking again for the state it is in changes nothing (no second audit entry)
    items.set_active(db, actor=SYSTEM_ACTOR, item_id=plain.id, active=False)
    entries = db.scalars(select(AuditEntry.action).where(
        AuditEntry.object_type == "errand_item", AuditEntry.object_id == str(plain.id))).all()
    assert entries == ["errand_item.withdrawn"]
    client.post(f"/errands/items/{plain.id}/restore", data={"csrf_token": csrf})
    db.refresh(plain)
    assert plain.is_active is True and plain.id in [i.id for i in service.active_items(db)]
    liaison = logged_in_client(db, make_user(db, role=Role.liaison, org="511902"))
    refused = liaison.post(f"/errands/items/{plain.id}/withdraw", data={
        "csrf_token": csrf_of(liaison)}, follow_redirects=False)
    db.refresh(plain)
    assert refused.status_code == 403 and plain.is_active is True
