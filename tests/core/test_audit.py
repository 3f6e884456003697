"""Audit log: append-only hash chain and its verification."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tongban.core import audit
from tongban.core.audit import AuditEntry
from tongban.core.security import SYSTEM_ACTOR


def _append(db: Session, n: int) -> list[AuditEntry]:
    return [
        audit.record(db, actor=SYSTEM_ACTOR, action="test.event", object_type="thing",
                     object_id=i, changes={"n": i}, reason=f"第{i}次")
        for i in range(n)
    ]


def test_each_entry_links_to_the_previous_hash(db: Session) -> None:
    first, second = _append(db, 2)
    assert second.prev_hash == first.hash
    assert audit.verify(db, actor=SYSTEM_ACTOR).ok


def test_an_altered_row_is_reported_as_the_first_break(db: Session) -> None:
    entries = _append(db, 3)
    db.execute(update(AuditEntry).where(AuditEntry.id == entries[1].id).values(reason="改过"))
    report = audit.verify(db, actor=SYSTEM_ACTOR)
    assert not report.ok
    assert report.first_break is not None
    assert report.first_break.entry_id == entries[1].id


def test_a_removed_row_breaks_the_link_of_the_next(db: Session) -> None:
    entries = _append(db, 3)
    db.execute(delete(AuditEntry).where(AuditEntry.id == entries[1].id))
    report = audit.verify(db, actor=SYSTEM_ACTOR)
    assert report.first_break is not None
    assert report.first_break.entry_id == entries[2].id


def test_changes_and_reason_are_kept(db: Session) -> None:
    entry = _append(db, 1)[0]
    stored = db.scalar(select(AuditEntry).where(AuditEntry.id == entry.id))
    assert stored is not None
    assert (stored.actor, stored.changes, stored.reason) == ("system", {"n": 0}, "第0次")
