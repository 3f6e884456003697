"""督办: record a 催办 or 批示 on cases and tasks, tell the unit at once, keep it on the record.

The domain that owns the object (reviews for 差评 cases, rectification for tasks) decides
whether the object may be supervised now and describes it as a :class:`Target`; this service
checks who may supervise, writes the notes and their audit entries, and notifies each unit's
liaisons once per call — a bulk 催办 of twenty overdue cases is one message per unit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.core import audit, notify
from tongban.core.errors import DomainError, PermissionDenied, permitted
from tongban.core.listing import PAGED, ListParams, Page, paginate
from tongban.core.security import Actor, Role
from tongban.core.workdays import local_today, local_zone
from tongban.org import service as org_service
from tongban.org.models import Org
from tongban.supervision.enums import SupervisionKind
from tongban.supervision.models import SupervisionNote

#: what a 催办 says when its author writes nothing
DEFAULT_URGE = "请抓紧办理，按期办结。"
MAX_TEXT = 500


@dataclass(frozen=True)
class Target:
    """A case or task as its domain describes it for 督办."""

    object_type: str  # as in the audit log: negative_case | rectification_task
    object_id: int
    org: Org
    title: str  # 差评工单 #12 / 整改任务 #7 <title>
    link: str
    list_link: str  # the unit's list, for a message about several objects


@dataclass
class Supervised:
    """What one call recorded, and the targets it left (urged already today)."""

    notes: list[SupervisionNote] = field(default_factory=list)
    skipped: list[Target] = field(default_factory=list)
    notified: int = 0
    units: list[str] = field(default_factory=list)  # the names of the units told

    @property
    def message(self) -> str:
        """One line for the page that asked."""
        kind = SupervisionKind(self.notes[0].kind).label if self.notes else "催办"
        named = "、".join(self.units[:3]) + (f"等 {len(self.units)} 个单位"
                                               if len(self.units) > 3 else "")
        said = f"已{kind}{named} {len(self.notes)} 件" if self.notes else f"未{kind}"
        if self.skipped:
            said += f"；{len(self.skipped)} 件今天已催办过，未重复"
        return said


def check(actor: Actor, kind: SupervisionKind) -> None:
    """Refuse ``kind`` to an actor who may not: 催办 is the city's (leaders, analysts,
    administrators); 批示 is a leader's."""
    if kind is SupervisionKind.instruction and actor.role is not Role.leader:
        raise PermissionDenied("只有领导可以批示")
    if kind is SupervisionKind.urge and not actor.is_citywide:
        raise PermissionDenied("只有领导和考核管理员可以催办")


def require_supervisor(actor: Actor) -> None:
    """Refuse an actor who may use no kind of 督办 (before looking at what they named)."""
    if not allowed_kinds(actor):
        raise PermissionDenied("只有领导和考核管理员可以督办")


def allowed_kinds(actor: Actor) -> frozenset[SupervisionKind]:
    """The kinds of 督办 ``actor`` may use (on an object its domain says is open)."""
    return permitted(SupervisionKind, lambda kind: check(actor, kind))


def _start_of_today() -> datetime:
    return datetime.combine(local_today(), time(), tzinfo=local_zone())


def _urged_today(db: Session, targets: list[Target]) -> set[tuple[str, int]]:
    if not targets:
        return set()
    rows = db.execute(select(SupervisionNote.object_type, SupervisionNote.object_id).where(
        SupervisionNote.kind == SupervisionKind.urge.value,
        SupervisionNote.created_at >= _start_of_today(),
        SupervisionNote.object_id.in_([t.object_id for t in targets])))
    return {(kind, object_id) for kind, object_id in rows}


@audit.action({"supervision.urge": "催办", "supervision.instruction": "批示"})
def supervise(db: Session, *, actor: Actor, kind: SupervisionKind, targets: Iterable[Target],
              text: str = "") -> Supervised:
    """Record ``kind`` on every target and notify each unit's liaisons once.

    A 批示 needs its words; a 催办 without words says :data:`DEFAULT_URGE`. An object already
    urged today is not urged again (a double click, or a second leader, sends nothing twice).
    """
    check(actor, kind)
    text = text.strip()
    chosen = list({(t.object_type, t.object_id): t for t in targets}.values())
    if not chosen:
        raise DomainError(f"请选择要{kind.label}的工单或任务")
    if kind is SupervisionKind.instruction and not text:
        raise DomainError("批示须填写内容")
    if len(text) > MAX_TEXT:
        raise DomainError(f"{kind.label}内容不能超过 {MAX_TEXT} 字")
    out = Supervised()
    if kind is SupervisionKind.urge:
        text = text or DEFAULT_URGE
        done = _urged_today(db, chosen)
        out.skipped = [t for t in chosen if (t.object_type, t.object_id) in done]
        chosen = [t for t in chosen if (t.object_type, t.object_id) not in done]
    author = actor.display_name or actor.username
    by_org: dict[int, list[tuple[Target, SupervisionNote]]] = {}
    for target in chosen:
        note = SupervisionNote(kind=kind.value, object_type=target.object_type,
                               object_id=target.object_id, org_id=target.org.id,
                               author_id=actor.user_id, author_name=author, text=text)
        db.add(note)
        db.flush()
        audit.record(db, actor=actor, action=f"supervision.{kind.value}",
                     object_type=target.object_type, object_id=target.object_id,
                     changes={"note": note.id, "org": target.org.code}, reason=text)
        out.notes.append(note)
        by_org.setdefault(target.org.id, []).append((target, note))
    for pairs in by_org.values():
        out.notified += _tell_unit(db, kind=kind, author=author, text=text, pairs=pairs)
        out.units.append(pairs[0][0].org.name)
    return out


def _tell_unit(db: Session, *, kind: SupervisionKind, author: str, text: str,
               pairs: list[tuple[Target, SupervisionNote]]) -> int:
    first, note = pairs[0]
    liaisons = org_service.people_of(db, org=first.org, roles={Role.liaison})
    if len(pairs) == 1:
        message = notify.Message(kind.value, f"{author}{kind.label}：{first.title}", text,
                                 first.link)
    else:
        message = notify.Message(
            kind.value, f"{author}{kind.label}{first.org.name} {len(pairs)} 件工单/任务",
            f"{text}\n" + "、".join(t.title for t, _ in pairs[:10])
            + ("等" if len(pairs) > 10 else ""), first.list_link)
    return notify.notify(db, recipients=org_service.recipients(liaisons), message=message,
                         key=f"supervision:{note.id}")


def notes_of(db: Session, *, object_type: str, object_id: int,
             params: ListParams | None = None) -> Page[SupervisionNote]:
    """The 催办 and 批示 on one object, the newest first (the caller checks it may see it)."""
    stmt = select(SupervisionNote).where(SupervisionNote.object_type == object_type,
                                         SupervisionNote.object_id == object_id)
    return paginate(db, stmt, params=params or ListParams(),
                    order=PAGED.order(params or ListParams(), default=[SupervisionNote.id.desc()]))


def orgs_urged_today(db: Session, *, org_ids: Iterable[int]) -> set[int]:
    """The orgs with something urged today (a unit's row marked 今日已催办)."""
    wanted = list(set(org_ids))
    if not wanted:
        return set()
    return set(db.scalars(select(SupervisionNote.org_id).distinct().where(
        SupervisionNote.kind == SupervisionKind.urge.value,
        SupervisionNote.created_at >= _start_of_today(),
        SupervisionNote.org_id.in_(wanted))))


def urge_counts(db: Session, *, object_type: str, object_ids: list[int]) -> dict[int, int]:
    """How many times each object was urged (for a list's 已催办 N 次 mark)."""
    if not object_ids:
        return {}
    rows = db.execute(select(SupervisionNote.object_id, func.count()).where(
        SupervisionNote.object_type == object_type, SupervisionNote.object_id.in_(object_ids),
        SupervisionNote.kind == SupervisionKind.urge.value).group_by(SupervisionNote.object_id))
    return {object_id: count for object_id, count in rows}
