"""Audit log: append-only hash chain and its verification; actions and their entries."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tongban.core import audit
from tongban.core.audit import AuditEntry
from tongban.core.security import SYSTEM_ACTOR
from tongban.core.workdays import WorkdayOverride


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


# ---------------------------------------------------------------- actions


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, audit.Action]:
    """The actions these tests declare, kept out of the real registry."""
    fresh: dict[str, audit.Action] = {}
    monkeypatch.setattr(audit, "_ACTIONS", fresh)
    return fresh


def _rule(db: Session, day: date, *, entry: str | None) -> None:
    db.add(WorkdayOverride(day=day, kind="holiday", note="", created_by="t"))
    if entry:
        audit.record(db, actor=SYSTEM_ACTOR, action=entry, object_type="t", object_id=1)


def test_an_action_that_writes_without_its_entry_is_refused(
        db: Session, registry: dict[str, audit.Action]) -> None:
    @audit.action({"t.ruled": "测试"})
    def rule(db: Session, day: date, *, entry: str | None) -> None:
        _rule(db, day, entry=entry)

    rule(db, date(2031, 1, 1), entry="t.ruled")
    with pytest.raises(audit.UnauditedChange, match="workday_override without an audit entry"):
        rule(db, date(2031, 1, 2), entry=None)
    assert registry["t.ruled"].writes == {"t.ruled"}


def test_an_action_that_changes_nothing_needs_no_entry(
        db: Session, registry: dict[str, audit.Action]) -> None:
    @audit.action({"t.nothing": "测试"})
    def look(db: Session) -> int:
        return len(db.scalars(select(WorkdayOverride)).all())

    db.add(WorkdayOverride(day=date(2031, 1, 3), kind="holiday", note="", created_by="t"))
    assert look(db) >= 1  # the caller's pending row is flushed before, not counted as the action's


def test_an_action_writes_only_the_entries_it_declares(
        db: Session, registry: dict[str, audit.Action]) -> None:
    @audit.action({"t.declared": "测试"})
    def rule(db: Session) -> None:
        _rule(db, date(2031, 1, 4), entry="t.other")

    with pytest.raises(audit.UnauditedChange, match=r"does not declare: t\.other"):
        rule(db)


def test_a_nested_action_answers_for_its_own_writes(
        db: Session, registry: dict[str, audit.Action]) -> None:
    @audit.action({"t.inner": "测试"})
    def inner(db: Session, day: date) -> None:
        _rule(db, day, entry="t.inner")

    @audit.action({"t.outer": "测试"})
    def outer(db: Session, *, own_write: bool) -> None:
        inner(db, date(2031, 1, 5 + own_write))
        if own_write:
            _rule(db, date(2031, 1, 8), entry=None)

    outer(db, own_write=False)
    with pytest.raises(audit.UnauditedChange, match="outer wrote to workday_override"):
        outer(db, own_write=True)


def test_each_entry_name_belongs_to_one_action(registry: dict[str, audit.Action]) -> None:
    @audit.action({"t.once": "测试"})
    def first(db: Session) -> None:
        """Declares t.once."""

    with pytest.raises(ValueError, match="already written by"):
        @audit.action({"t.once": "测试"})
        def second(db: Session) -> None:
            """Declares it again."""
