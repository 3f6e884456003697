"""Attacks on 专项台账: script in item names and notes, bad evidence files, another org's
entries and files, rows naming another org in an import, YAML that tries to build objects."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import actor_of, api_client, csrf_of, logged_in_client, make_user, picture
from tests.ledger.conftest import ITEMS, POWERS, World, csv_of, make_world
from tongban.core.errors import ValidationFailed
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.ledger import service
from tongban.ledger.models import LedgerAttachment, LedgerEntry
from tongban.ledger.spec import parse_ledger

SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def world(db: Session) -> World:
    return make_world(db)


@pytest.fixture(autouse=True)
def _uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tongban.core.config import get_settings

    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path))
    get_settings.cache_clear()


def test_script_in_an_item_name_and_notes_is_text(db: Session, world: World) -> None:
    service.import_items(db, actor=SYSTEM_ACTOR, type_code=POWERS, filename="事项.csv",
                         source=csv_of(ITEMS + f'FD-009,"{SCRIPT}",法定\n'))
    service.update_entry(db, actor=SYSTEM_ACTOR, type_code=POWERS, org=world.east,
                         item_code="FD-009", given=service.EntryInput(
                             notes=f"<img src=x onerror=alert(1)>{SCRIPT}",
                             responsible='" autofocus onfocus="alert(1)'))
    client = logged_in_client(db, make_user(db, role=Role.liaison, org="511902"))
    for path in (f"/ledgers/{POWERS}/orgs/{world.east.code}",
                 f"/ledgers/{POWERS}/orgs/{world.east.code}/items/FD-009"):
        html = client.get(path).text
        assert SCRIPT not in html and "<img src=x" not in html
        assert "&lt;script&gt;" in html
    entry = client.get(f"/ledgers/{POWERS}/orgs/{world.east.code}/items/FD-009").text
    assert 'autofocus onfocus="alert(1)' not in entry


@pytest.mark.parametrize(("name", "content"), [
    ("证明.png", b"not a picture at all"),
    ("证明.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),  # starts like a PNG, decodes as none
    ("证明.exe", b"MZ\x90\x00"),
    ("../../etc/passwd.pdf", b"plain text"),
])
def test_a_bad_evidence_file_is_refused_and_changes_nothing(
        db: Session, world: World, name: str, content: bytes) -> None:
    client = logged_in_client(db, make_user(db, role=Role.liaison, org="511902"))
    path = f"/ledgers/{POWERS}/orgs/{world.east.code}/items/FQ-001"
    answer = client.post(path, data={"csrf_token": csrf_of(client, path), "status": "taken",
                                     "notes": "附证明"},
                         files={"evidence": (name, content, "image/png")})
    assert answer.status_code == 400 and 'data-testid="import-errors"' in answer.text
    assert db.scalar(select(LedgerEntry).where(LedgerEntry.org_id == world.east.id)) is None
    assert db.scalar(select(LedgerAttachment.id)) is None


def test_another_orgs_entries_and_files_are_out_of_reach(db: Session, world: World) -> None:
    attachment = service.add_attachment(db, actor=SYSTEM_ACTOR, type_code=POWERS,
                                        org=world.east, item_code="FD-001",
                                        filename="协议.png", content=picture())
    intruder = make_user(db, role=Role.liaison, org="511903")  # 恩阳区
    api = api_client(db, intruder)
    assert api.get(f"/api/v1/ledgers/evidence/{attachment.id}").status_code == 404
    assert api.put(f"/api/v1/ledgers/{POWERS}/orgs/{world.east.code}/entries/FD-001",
                   json={"status": "taken"}).status_code == 404
    assert api.put(f"/api/v1/ledgers/{POWERS}/orgs/文旅新区/entries/WT-001",
                   json={"notes": "x"}).status_code == 404
    pages = logged_in_client(db, intruder)
    path = f"/ledgers/{POWERS}/orgs/{world.east.code}/items/FD-001"
    assert pages.get(f"/ledgers/evidence/{attachment.id}").status_code == 404
    assert pages.post(path, data={"csrf_token": csrf_of(pages), "status": "taken"}
                      ).status_code == 404
    assert pages.post(f"{path}/rectify", data={"csrf_token": csrf_of(pages)}).status_code == 404
    entry = db.scalars(select(LedgerEntry).where(LedgerEntry.org_id == world.east.id)).one()
    assert entry.state == "not_taken" and entry.updated_by == "system"


def test_an_import_row_naming_another_org_is_refused_whole(db: Session, world: World) -> None:
    intruder = actor_of(db, role=Role.liaison, org="511903")
    own = service.required_orgs(db, spec=service.current_type(
        db, actor=SYSTEM_ACTOR, code=POWERS)[1])
    mine = next(o for o, _ in own if o.parent is not None and o.parent.code == "511903")
    with pytest.raises(ValidationFailed) as caught:
        service.import_entries(db, actor=intruder, type_code=POWERS, filename="台账.csv",
                               source=csv_of(f"单位,事项编码,状态\n{mine.code},FD-001,已承接\n"
                                             "巴州区/东城街道,FD-001,已承接\n"))
    assert "无权填报「东城街道」" in str(caught.value)
    assert db.scalar(select(LedgerEntry.id)) is None


def test_a_leader_reads_but_changes_nothing(db: Session, world: World) -> None:
    api = api_client(db, make_user(db, role=Role.leader, org="511900"))
    assert api.get(f"/api/v1/ledgers/{POWERS}/orgs/{world.east.code}/entries").status_code == 200
    assert api.put(f"/api/v1/ledgers/{POWERS}/orgs/{world.east.code}/entries/FD-001",
                   json={"status": "taken"}).status_code == 403


def test_yaml_that_builds_objects_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        parse_ledger("code: !!python/object/apply:os.system ['echo hacked']\n")
