"""Org scoping: which orgs an actor may see, and the role checks every domain's service uses.

Admins, analysts and leaders see every org; liaisons and runners see their own org and its
subtree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from tongban.core.errors import NotFound, PermissionDenied
from tongban.core.security import CITYWIDE_ROLES, MANAGER_ROLES, Actor, Role
from tongban.org.enums import Area
from tongban.org.models import Org


def own_org(db: Session, actor: Actor) -> Org | None:
    """The org the actor belongs to (None for city-wide roles without one)."""
    return db.get(Org, actor.org_id) if actor.org_id is not None else None


def scope_condition(db: Session, *, actor: Actor) -> ColumnElement[bool]:
    """A condition on ``Org`` that keeps exactly the orgs ``actor`` may see."""
    if actor.is_citywide:
        return true()
    own = own_org(db, actor)
    if own is None:
        return false()
    return Org.path.startswith(own.path)


def visible_org_ids(db: Session, *, actor: Actor) -> Any:
    """A subquery of the org ids ``actor`` may see, for other domains' filters."""
    return select(Org.id).where(scope_condition(db, actor=actor)).scalar_subquery()


def can_see(db: Session, *, actor: Actor, org: Org) -> bool:
    if actor.is_citywide:
        return True
    own = own_org(db, actor)
    return own is not None and org.path.startswith(own.path)


def ensure_visible(db: Session, *, actor: Actor, org: Org) -> Org:
    """``org`` if the actor may see it; otherwise NotFound (never reveal what exists)."""
    if not can_see(db, actor=actor, org=org):
        raise NotFound(f"未找到组织「{org.code}」")
    return org


#: Who reaches each area beyond the ones every role reaches (home, orgs, inbox, account).
_AREA_ROLES: dict[Area, frozenset[Role]] = {
    Area.assessment: frozenset(Role),
    Area.schemes: CITYWIDE_ROLES,
    Area.data_import: MANAGER_ROLES,
    Area.catalog: frozenset(Role),
    Area.benchmark: CITYWIDE_ROLES,
    Area.reviews: frozenset(Role) - {Role.runner},
    Area.review_analysis: CITYWIDE_ROLES,
    Area.rectification: frozenset(Role) - {Role.runner},
    Area.errands: frozenset(Role),
    Area.reports: CITYWIDE_ROLES,
    Area.cohorts: CITYWIDE_ROLES,
    Area.users: frozenset({Role.admin}),
    Area.calendar: frozenset({Role.admin}),
    Area.audit: frozenset({Role.admin}),
    Area.outbox: frozenset({Role.admin}),
    Area.datasharing: frozenset(Role) - {Role.runner},
    Area.aliases: MANAGER_ROLES,
    Area.ledger: frozenset(Role) - {Role.runner},
}


def areas(actor: Actor) -> frozenset[Area]:
    """The parts of the platform ``actor`` may reach (the menu shows exactly these)."""
    return frozenset(area for area, roles in _AREA_ROLES.items() if actor.role in roles)


def require_area(actor: Actor, area: Area) -> None:
    """Refuse an actor outside ``area`` with the area's name."""
    if area not in areas(actor):
        raise PermissionDenied(f"{actor.role.label}不能使用「{area.label}」")


def require_manager(actor: Actor, what: str) -> None:
    """Refuse unless the actor is an administrator or analyst."""
    if not actor.can_manage:
        raise PermissionDenied(f"只有系统管理员或考核管理员可以{what}")


def require_citywide(actor: Actor, what: str) -> None:
    """Refuse unless the actor reads every org (admin, analyst, leader)."""
    if not actor.is_citywide:
        raise PermissionDenied(f"联络员和跑手不能{what}")
