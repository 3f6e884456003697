"""One workflow helper for every state machine (差评工单, 整改任务, 跑团代办, 对标建议, the ledgers).

A workflow is data: each action names the states it may start from, the state it leads to and
who takes it (a word the domain gives meaning to: ``assignee``, ``manager``, ``runner`` …).
:class:`Workflow` holds that table and the domain's one ``may`` check (who, and any rule of its
own), and gives every domain the same four things:

- :meth:`Workflow.check` — the refusal of an action, if any: a state it cannot start from is a
  409 naming both; then the domain's ``may``; the one check behind a write and its button;
- :meth:`Workflow.allowed` — the actions an actor may take now (pages show exactly these);
- :meth:`Workflow.step` — the state changed, flushed and audited (who, from, to, why, and any
  other changes the domain passes);
- :meth:`Workflow.transitions` — the table, for pages that draw the flow and for tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.orm import Session

from tongban.core import audit
from tongban.core.errors import Conflict, permitted

A = TypeVar("A", bound=StrEnum)
S = TypeVar("S", bound=StrEnum)


class Stateful(Protocol):
    """What a workflow moves: an object with an id and its state's value."""

    id: Any
    state: str


@dataclass(frozen=True)
class Transition(Generic[S]):
    """One action's row of the table: from which states, to which, taken by whom."""

    sources: frozenset[S]
    target: S
    who: str


#: The domain's own check of an action its state allows: who may take it, and any rule of the
#: domain (lines still open, documents not yet handed back); it raises the refusal.
May = Callable[[Session, Any, Any, Any, str], None]


class Workflow(Generic[A, S]):
    """A state machine over ``state_type``: the table of actions and the domain's check."""

    def __init__(self, *, noun: str, object_type: str, audit_prefix: str,
                 state_type: type[S],
                 table: Mapping[A, tuple[Iterable[S], S, str]], may: May) -> None:
        self.noun = noun
        self.object_type = object_type
        self.audit_prefix = audit_prefix
        self.state_type = state_type
        self.table: dict[A, Transition[S]] = {
            action: Transition(frozenset(sources), target, who)
            for action, (sources, target, who) in table.items()}
        self.may = may

    def transitions(self) -> dict[A, Transition[S]]:
        return dict(self.table)

    def state_of(self, subject: Stateful) -> S:
        return self.state_type(subject.state)

    def check(self, db: Session, actor: Any, subject: Stateful, action: A) -> None:
        """Raise the refusal of ``action`` on ``subject`` by ``actor``, if any."""
        row = self.table[action]
        current = self.state_of(subject)
        if current not in row.sources:
            raise Conflict(f"{self.noun} #{subject.id} 当前为「{_label(current)}」，"
                           f"不能「{_label(action)}」")
        self.may(db, actor, subject, action, row.who)

    def allowed(self, db: Session, actor: Any, subject: Stateful,
                candidates: Iterable[A] | None = None) -> frozenset[A]:
        """The actions ``actor`` may take on ``subject`` now."""
        return permitted(list(candidates if candidates is not None else self.table),
                         lambda action: self.check(db, actor, subject, action))

    def step(self, db: Session, actor: Any, subject: Stateful, action: A, *, reason: str = "",
             changes: Mapping[str, object] | None = None, target: S | None = None,
             entry: str | None = None) -> S:
        """Move ``subject`` by ``action`` (already checked) to its next state (``target`` when
        the domain decides otherwise, such as a second 不满意 closing a case), flush and audit
        it under ``entry`` (default ``<audit_prefix>.<action>``); the state it left."""
        current = self.state_of(subject)
        reached = target if target is not None else self.table[action].target
        subject.state = reached.value
        db.flush()
        audit.record(db, actor=actor, action=entry or f"{self.audit_prefix}.{action.value}",
                     object_type=self.object_type, object_id=subject.id,
                     changes={"state": [current.value, reached.value], **(changes or {})},
                     reason=reason)
        return current

    def audit_labels(self, actions: Iterable[A] | None = None) -> dict[str, str]:
        """The audit log's names of the steps (``@audit.action`` of the domain's function)."""
        return {f"{self.audit_prefix}.{a.value}": _label(a)
                for a in (actions if actions is not None else self.table)}


def _label(member: Any) -> str:
    return str(getattr(member, "label", member))
