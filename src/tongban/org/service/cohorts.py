"""Cohorts: named sets of orgs ranked together."""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core import audit
from tongban.core.errors import Conflict, DomainError, NotFound
from tongban.core.listing import Listing, ListParams, Page, contains_text, paginate
from tongban.core.security import Actor
from tongban.org.models import Cohort, CohortMember, Org
from tongban.org.service.scoping import require_citywide, require_manager

#: Cohorts as a list: the reference cohort first, then by code.
COHORTS = Listing(sorts={"code": ("代码", [Cohort.code]), "name": ("名称", [Cohort.name])},
                  key=Cohort.id, search="代码或名称中的文字")


def list_cohorts(db: Session, *, actor: Actor, params: ListParams) -> Page[Cohort]:
    require_citywide(actor, "查看考核分组")
    stmt = select(Cohort)
    if params.q:
        stmt = stmt.where(contains_text(params.q, Cohort.code, Cohort.name))
    return paginate(db, stmt, params=params, order=COHORTS.order(
        params, default=[Cohort.is_reference.desc(), Cohort.code, Cohort.id]))


def get_cohort(db: Session, *, actor: Actor, code: str) -> Cohort:
    require_citywide(actor, "查看考核分组")
    cohort = db.scalar(select(Cohort).where(Cohort.code == code))
    if cohort is None:
        raise NotFound(f"未找到考核分组「{code}」")
    return cohort


def check_cohort_action(actor: Actor, cohort: Cohort | None = None) -> None:
    """Raise the refusal of creating a cohort (``cohort`` None) or editing one: the one check
    behind :func:`create_cohort`, :func:`set_cohort_members` and their forms."""
    if cohort is None:
        require_manager(actor, "新建考核分组")
        return
    require_manager(actor, "调整考核分组")
    if cohort.is_reference:
        raise DomainError(f"「{cohort.name}」是参考分组，成员来自区划数据，不能手工调整")


def allowed_cohort_actions(actor: Actor, *, cohort: Cohort | None = None) -> frozenset[str]:
    """``create`` on the list of cohorts, ``edit`` on one: what pages offer ``actor``. The
    province's reference cohort (its ranking of cities) is imported, never edited."""
    try:
        check_cohort_action(actor, cohort)
    except DomainError:
        return frozenset()
    return frozenset({"create" if cohort is None else "edit"})


def cohort_orgs(cohort: Cohort) -> list[Org]:
    return sorted((m.org for m in cohort.members), key=lambda o: o.code)


@audit.action({"cohort.created": "新建考核对象组"})
def create_cohort(
    db: Session,
    *,
    actor: Actor,
    code: str,
    name: str,
    members: list[Org],
    description: str = "",
    is_reference: bool = False,
) -> Cohort:
    """A new named set of orgs ranked together."""
    check_cohort_action(actor, None)
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{1,63}", code):
        raise DomainError("分组代码只能用小写字母、数字、- 和 _，2–64 个字符")
    if db.scalar(select(Cohort.id).where(Cohort.code == code)) is not None:
        raise Conflict(f"考核分组「{code}」已存在")
    _check_distinct(members)
    cohort = Cohort(code=code, name=name, description=description, is_reference=is_reference)
    cohort.members = [CohortMember(org_id=o.id, org=o) for o in members]
    db.add(cohort)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="cohort.created",
        object_type="cohort",
        object_id=code,
        changes={"name": name, "members": [o.code for o in members]},
    )
    return cohort


def member_ids(db: Session, *, cohort: Cohort) -> list[int]:
    """The ids of a cohort's evaluated orgs (without loading the orgs)."""
    return list(db.scalars(select(CohortMember.org_id)
                           .where(CohortMember.cohort_id == cohort.id)
                           .order_by(CohortMember.org_id)))


@audit.action({"cohort.members_changed": "调整考核对象组成员"})
def set_cohort_members(
    db: Session, *, actor: Actor, cohort: Cohort, members: list[Org], reason: str = ""
) -> Cohort:
    """Replace the members of a cohort; the change is audited with what was added and removed."""
    check_cohort_action(actor, cohort)
    _check_distinct(members)
    before = {m.org.code for m in cohort.members}
    after = {o.code for o in members}
    if before == after:
        return cohort
    keep = {m.org_id: m for m in cohort.members if m.org.code in after}
    cohort.members = [keep.get(o.id) or CohortMember(org_id=o.id, org=o) for o in members]
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="cohort.members_changed",
        object_type="cohort",
        object_id=cohort.code,
        changes={"added": sorted(after - before), "removed": sorted(before - after)},
        reason=reason,
    )
    return cohort


def _check_distinct(members: list[Org]) -> None:
    dupes = [code for code, n in Counter(o.code for o in members).items() if n > 1]
    if dupes:
        raise DomainError(f"成员重复：{'、'.join(dupes)}")
