"""The register of departments: the codes and names sources write for an org.

A 好差评 exchange record names its department by ``deptCode`` (a unified social credit code),
a city's 实施清单 by its 实施部门 name, other imports by a full or short name. Each is an alias
(``OrgAlias``) of one org: mapped once by an analyst, known to every feeder. A source that
meets a code or name it cannot resolve notes it (``note_unmapped``), and one page lists them
all to be mapped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from tongban.core import audit
from tongban.core.creditcode import is_credit_code
from tongban.core.db import utcnow
from tongban.core.errors import DomainError, NotFound, RowError, ValidationFailed
from tongban.core.listing import Listing, ListParams, Page, paginate
from tongban.core.security import Actor
from tongban.org.enums import AliasKind, OrgLevel
from tongban.org.models import Org, OrgAlias
from tongban.org.service.scoping import require_manager

audit.name_objects({"org_alias": "部门别名"})

#: What a feeder does when an alias is mapped (its rows written under that name move to the
#: org): called with the session and the alias, returns how many rows moved. Feeders register
#: here (``on_alias_mapped``), so that ``org`` imports none of them.
_MAPPED_HOOKS: list[Callable[[Session, OrgAlias], int]] = []

#: Aliases as a list: unmapped first, then by kind and value.
ALIASES = Listing(sorts={"value": ("名称或代码", [OrgAlias.value]),
                         "source": ("来源", [OrgAlias.source]),
                         "created_at": ("发现时间", [OrgAlias.created_at]),
                         "updated_at": ("对应时间", [OrgAlias.updated_at])},
                  key=OrgAlias.id, search="名称或代码中的文字")


def on_alias_mapped(hook: Callable[[Session, OrgAlias], int]) -> None:
    """Register what a feeder does when a code or name is mapped to an org (once)."""
    if hook not in _MAPPED_HOOKS:
        _MAPPED_HOOKS.append(hook)


def clean_code(code: str) -> str:
    """A credit code as stored: stripped, upper case."""
    return code.strip().upper()


def clean_name(name: str) -> str:
    """A department name as stored: stripped, at most 100 characters."""
    return name.strip()[:100]


def code_orgs(db: Session) -> dict[str, Org]:
    """Every mapped credit code → its org (a bulk import reads them once)."""
    return {a.value: a.org for a in db.scalars(select(OrgAlias).where(
        OrgAlias.kind == AliasKind.code.value, OrgAlias.org_id.is_not(None))) if a.org}


def resolve_code(db: Session, *, code: str) -> Org | None:
    """The org a credit code / deptCode is mapped to, if any."""
    return db.scalar(select(Org).join(OrgAlias, OrgAlias.org_id == Org.id).where(
        OrgAlias.kind == AliasKind.code.value, OrgAlias.value == clean_code(code)))


def department_orgs(db: Session, *, city: Org) -> list[Org]:
    """The city's department orgs, by name."""
    return list(db.scalars(select(Org).where(
        Org.parent_id == city.id, Org.level == OrgLevel.department.value).order_by(Org.name)))


def name_orgs(db: Session, *, city: Org) -> dict[str, int]:
    """Department names written in ``city``'s sources → org ids: the city's departments by
    name and short name, then every mapped name alias of the city (an analyst's word wins)."""
    found: dict[str, int] = {}
    for org in department_orgs(db, city=city):
        found[org.name] = org.id
        found.setdefault(org.short_name, org.id)
    found.update({a.value: a.org_id for a in db.scalars(select(OrgAlias).where(
        OrgAlias.kind == AliasKind.dept_name.value, OrgAlias.city_id == city.id,
        OrgAlias.org_id.is_not(None))) if a.org_id is not None})
    return found


def resolve_name(db: Session, *, city: Org, name: str) -> Org | None:
    """The org a department name of ``city``'s sources stands for, if any."""
    org_id = name_orgs(db, city=city).get(clean_name(name))
    return db.get(Org, org_id) if org_id is not None else None


def _find(db: Session, kind: AliasKind, value: str, city: Org | None) -> OrgAlias | None:
    city_id = city.id if city is not None and kind is AliasKind.dept_name else None
    return db.scalar(select(OrgAlias).where(
        OrgAlias.kind == kind.value, OrgAlias.value == value,
        OrgAlias.city_id.is_(None) if city_id is None else OrgAlias.city_id == city_id))


@audit.action({"org.alias_seen": "发现未对应的部门名称或代码"})
def note_unmapped(db: Session, *, actor: Actor, kind: AliasKind, values: Iterable[str],
                  source: str, city: Org | None = None) -> int:
    """Keep the codes or names a source met and could not resolve, for the page that lists
    them; one already kept (mapped or not) is left as it is. Returns how many were new."""
    if kind is AliasKind.dept_name and city is None:
        raise ValueError("a department name is read within a city")
    cleaned = {clean_code(v) if kind is AliasKind.code else clean_name(v) for v in values}
    new = sorted(v for v in cleaned if v and _find(db, kind, v, city) is None)
    if not new:
        return 0
    now = utcnow()
    for value in new:
        db.add(OrgAlias(kind=kind.value, value=value, source=source[:32], created_at=now,
                        updated_at=now, city_id=city.id if kind is AliasKind.dept_name and city
                        else None))
    db.flush()
    audit.record(db, actor=actor, action="org.alias_seen", object_type="org_alias",
                 object_id=(city.code if city is not None else kind.value),
                 changes={"kind": kind.value, "source": source, "values": new[:50],
                          "count": len(new)})
    return len(new)


def _refuse(field: str, reason: str) -> ValidationFailed:
    return ValidationFailed(errors=[RowError(None, field, reason)], summary="别名未登记")


@audit.action({"org.alias_mapped": "登记部门别名"})
def map_alias(db: Session, *, actor: Actor, kind: AliasKind, value: str, org: Org,
              city: Org | None = None, source: str = "") -> OrgAlias:
    """Remember that a credit code (province-wide) or a department name written in ``city``'s
    sources (default: the org's parent) stands for ``org``; every feeder resolves it so from
    now on, and the rows a feeder already keeps under that name move (``on_alias_mapped``).
    Mapping again to the same org changes nothing; to another org, the imports that follow
    (stored reviews keep their org)."""
    require_manager(actor, "登记部门别名")
    if kind is AliasKind.code:
        clean, city = clean_code(value), None
        if not is_credit_code(clean):
            raise _refuse("code", f"「{value.strip()[:40]}」不是有效的统一社会信用代码"
                                  "（18位，校验位须符合 GB 32100）")
    else:
        clean = clean_name(value)
        if not clean:
            raise _refuse("name", "请填写部门名称")
        city = city or org.parent  # a name of the sources of the org's own city
        if city is None:
            raise _refuse("org", f"「{org.name}」没有上级，不能按名称对应")
        if org.parent_id != city.id:
            raise DomainError(f"「{org.name}」不是{city.name}的部门或县区")
    found = _find(db, kind, clean, city)
    if found is not None and found.org_id == org.id:
        return found
    before = found.org.code if found is not None and found.org is not None else None
    if found is None:
        found = OrgAlias(kind=kind.value, value=clean, source=source[:32],
                         city_id=city.id if city is not None else None)
        db.add(found)
    found.org_id, found.org = org.id, org
    found.mapped_by, found.updated_at = actor.username, utcnow()
    db.flush()
    moved = sum(hook(db, found) for hook in _MAPPED_HOOKS)
    audit.record(db, actor=actor, action="org.alias_mapped", object_type="org_alias",
                 object_id=found.id,
                 changes={"kind": kind.value, "value": clean, "org": [before, org.code],
                          "city": city.code if city is not None else None, "moved": moved})
    return found


def _filters(*, kind: AliasKind | None, city: Org | None,
             params: ListParams) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if kind is not None:
        conditions.append(OrgAlias.kind == kind.value)
    if city is not None:
        conditions.append(or_(OrgAlias.city_id == city.id, OrgAlias.city_id.is_(None)))
    if params.q:
        q = params.q.strip()
        conditions.append(or_(OrgAlias.value.contains(q, autoescape=True),
                              OrgAlias.value.contains(q.upper(), autoescape=True)))
    return conditions


def list_aliases(db: Session, *, actor: Actor, params: ListParams, mapped: bool | None = None,
                 kind: AliasKind | None = None, city: Org | None = None,
                 listing: Listing = ALIASES) -> Page[OrgAlias]:
    """The codes and names of the register (analysts and admins): ``mapped`` False the ones
    seen in a source and not mapped yet, True the mapped ones, None both."""
    require_manager(actor, "查看部门别名")
    stmt = select(OrgAlias).where(*_filters(kind=kind, city=city, params=params))
    if mapped is not None:
        stmt = stmt.where(OrgAlias.org_id.is_not(None) if mapped else OrgAlias.org_id.is_(None))
    return paginate(db, stmt, params=params, order=listing.order(
        params, default=[OrgAlias.kind, OrgAlias.value, OrgAlias.id]))


def unmapped_count(db: Session, *, actor: Actor) -> int:
    """How many codes and names wait to be mapped."""
    require_manager(actor, "查看部门别名")
    return db.scalar(select(func.count()).where(OrgAlias.org_id.is_(None))) or 0


def get_alias(db: Session, *, actor: Actor, alias_id: int) -> OrgAlias:
    """One alias of the register (analysts and admins)."""
    require_manager(actor, "查看部门别名")
    found = db.get(OrgAlias, alias_id)
    if found is None:
        raise NotFound(f"别名 #{alias_id} 不存在")
    return found
