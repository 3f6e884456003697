"""Org scoping: which orgs an actor may see, and the role checks every domain's service uses.

Admins, analysts and leaders see every org; liaisons and runners see their own org and its
subtree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from tongban.core.errors import NotFound, PermissionDenied
from tongban.core.security import Actor
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


def require_manager(actor: Actor, what: str) -> None:
    """Refuse unless the actor is an administrator or analyst."""
    if not actor.can_manage:
        raise PermissionDenied(f"只有系统管理员或考核管理员可以{what}")


def require_citywide(actor: Actor, what: str) -> None:
    """Refuse unless the actor reads every org (admin, analyst, leader)."""
    if not actor.is_citywide:
        raise PermissionDenied(f"联络员和跑手不能{what}")
