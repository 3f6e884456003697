"""The pages and API of 专项台账 as their users meet them: the board rolled up by county with
drill-down to townships (the county leader's view), a township's entries, an entry updated with
evidence on its page, the 委托 rule refused on the page, the JSON API scoped."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import api_client, csrf_of, logged_in_client, make_user, picture
from tests.ledger.conftest import ITEMS, POWERS, World, csv_of
from tests.ledger.test_entries import ENTRIES
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.ledger import service
from tongban.ledger.models import LedgerEntry
from tongban.ledger.service import entries as entries_module
from tongban.rectification.models import RectificationTask


def test_the_board_rolls_townships_up_by_county_and_drills_down(db: Session,
                                                                world: World) -> None:
    service.import_entries(db, actor=SYSTEM_ACTOR, type_code=POWERS, source=csv_of(ENTRIES),
                           filename="台账.csv")
    client = logged_in_client(db, make_user(db, role=Role.leader, org="511900"))
    page = client.get(f"/ledgers/{POWERS}")
    assert page.status_code == 200
    board = page.text.split('data-testid="board"')[1].split("</table>")[0]
    assert "巴州区" in board and "通江县" in board and "文旅新区" in board
    assert "东城街道" not in board and "<progress" in board
    county = client.get(f"/ledgers/{POWERS}/orgs/{world.county.code}", follow_redirects=True)
    rows = county.text.split('data-testid="board"')[1].split("</table>")[0]
    assert "东城街道" in rows and "通江县" not in rows
    town = client.get(f"/ledgers/{POWERS}/orgs/{world.east.code}")
    entries = town.text.split('data-testid="entries"')[1].split("</table>")[0]
    assert "对违反村庄规划建房行为的处罚" in entries and "专网未打通" in entries
    assert "景区内建设项目规划许可" not in entries  # a 委托 item is 文旅新区's


def test_a_county_liaison_sees_its_townships_only(db: Session, world: World) -> None:
    client = logged_in_client(db, make_user(db, role=Role.liaison, org="511921"))
    board = client.get(f"/ledgers/{POWERS}").text.split('data-testid="board"')[1]
    assert "巴州区" not in board.split("</table>")[0]
    assert client.get(f"/ledgers/{POWERS}/orgs/{world.east.code}").status_code == 404
    assert client.get(f"/ledgers/{POWERS}/orgs/{world.east.code}/items/FD-001").status_code == 404


def test_an_entry_is_updated_with_evidence_on_its_page(db: Session, world: World) -> None:
    liaison = make_user(db, role=Role.liaison, org="文旅新区")
    client = logged_in_client(db, liaison)
    path = f"/ledgers/{POWERS}/orgs/{world.zone.code}/items/WT-001"
    token = csrf_of(client, path)
    refused = client.post(path, data={"csrf_token": token, "status": "taken",
                                      "field_receiver": "文旅新区管委会"},
                          files={"evidence": ("委托书.png", picture(), "image/png")})
    assert refused.status_code == 422 and "须填写承办人员" in refused.text
    assert db.scalar(select(LedgerEntry).where(LedgerEntry.org_id == world.zone.id)) is None
    saved = client.post(path, data={
        "csrf_token": token, "status": "taken", "field_receiver": "文旅新区管委会",
        "field_staff": "张三", "field_procedure": "受理-审核-办结", "field_owner": "王五"},
        files={"evidence": ("委托书.png", picture(), "image/png")}, follow_redirects=False)
    assert saved.status_code == 303
    shown = client.get(path).text
    assert 'data-testid="status">已承接' in shown and "委托书.png" in shown
    entry = db.scalars(select(LedgerEntry).where(LedgerEntry.org_id == world.zone.id)).one()
    [attachment] = entry.attachments
    assert attachment.uploaded_by == liaison.username
    assert client.get(f"/ledgers/evidence/{attachment.id}").content == picture()


def test_the_api_answers_status_and_entries_within_scope(db: Session, world: World) -> None:
    service.import_entries(db, actor=SYSTEM_ACTOR, type_code=POWERS, source=csv_of(ENTRIES),
                           filename="台账.csv")
    own = api_client(db, make_user(db, role=Role.liaison, org=world.county.code))
    found = own.get(f"/api/v1/ledgers/{POWERS}/status", params={"page_size": 100}).json()
    names = {r["org"] for r in found["items"]}
    assert "东城街道" in names and "文旅新区" not in names
    east = next(r for r in found["items"] if r["org"] == "东城街道")
    assert (east["done"], east["not_applicable"], east["rate"]) == (2, 1, 0.5)
    entries = own.get(f"/api/v1/ledgers/{POWERS}/orgs/{world.east.code}/entries").json()
    assert entries["total"] == 5
    changed = own.put(f"/api/v1/ledgers/{POWERS}/orgs/{world.east.code}/entries/FQ-001",
                      json={"status": "taken"})
    assert changed.status_code == 200 and changed.json()["status_label"] == "已承接"
    other = api_client(db, make_user(db, role=Role.liaison, org="511921"))
    assert other.get(f"/api/v1/ledgers/{POWERS}/orgs/{world.east.code}/entries"
                     ).status_code == 404
    assert other.put(f"/api/v1/ledgers/{POWERS}/orgs/{world.east.code}/entries/FQ-001",
                     json={"status": "not_taken", "reason": "其他"}).status_code == 404


def test_an_overdue_entry_goes_to_rectification_in_one_click(
        db: Session, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    service.import_items(db, actor=SYSTEM_ACTOR, type_code=POWERS, filename="事项.csv",
                         source=csv_of(ITEMS.replace("类别\n", "类别,完成时限\n")
                                       .replace(",赋权\n", ",赋权,2026-11-30\n", 1)))
    monkeypatch.setattr(entries_module, "local_today", lambda: date(2026, 12, 10))
    analyst = logged_in_client(db, make_user(db, role=Role.analyst, org="511900"))
    path = f"/ledgers/{POWERS}/orgs/{world.east.code}/items/FQ-001"
    page = analyst.get(path).text
    assert 'data-testid="rectify"' in page and "逾期" in page
    sent = analyst.post(f"{path}/rectify", data={"csrf_token": csrf_of(analyst, path)},
                        follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"].startswith(
        "/rectification/tasks/")
    task_id = int(sent.headers["location"].rsplit("/", 1)[1])
    assert db.get_one(RectificationTask, task_id).org_id == world.east.id
    assert f"整改任务 #{task_id}" in analyst.get(path).text
    liaison = logged_in_client(db, make_user(db, role=Role.liaison, org="511902"))
    assert 'data-testid="rectify"' not in liaison.get(path).text  # managers issue tasks
