"""The org tree: names and pinyin, resolving a name or code, reading and searching the tree,
adding a zone or a department.
"""

from __future__ import annotations

import re

from pypinyin import Style, lazy_pinyin
from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import Session

from tongban.core import audit
from tongban.core.errors import Conflict, DomainError, NotFound
from tongban.core.listing import Listing, ListParams, Page, paginate
from tongban.core.security import Actor
from tongban.org.enums import AliasKind, DeptClass, OrgLevel
from tongban.org.models import Org, OrgAlias
from tongban.org.service.scoping import ensure_visible, own_org, require_manager, scope_condition

#: An org code: letters, digits and hyphens (it is looked up before names, so it must never
#: look like one).
ORG_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{0,31}")

_ETHNIC_GROUPS = (
    "土家|藏|羌|彝|苗|回|蒙古|满|壮|傣|侗|瑶|白|哈尼|黎|傈僳|佤|畲|纳西|布依|朝鲜|维吾尔|哈萨克"
    "|仡佬|仫佬|毛南|撒拉|达斡尔|锡伯|鄂温克|裕固|独龙|鄂伦春|赫哲|景颇|拉祜|柯尔克孜|普米|怒"
    "|德昂|保安|塔吉克|阿昌|布朗|东乡|水|土"
)
_ETHNIC_AUTONOMY = re.compile(rf"(?:(?:{_ETHNIC_GROUPS})族)+自治[州县旗]$")
_SUFFIXES = ("街道办事处", "街道", "新区", "地区", "市", "州", "区", "县", "镇", "乡")


def short_name_of(name: str) -> str:
    """The name people use: 巴中市 → 巴中, 阿坝藏族羌族自治州 → 阿坝, 东区 stays 东区."""
    stripped = _ETHNIC_AUTONOMY.sub("", name)
    if stripped != name and len(stripped) >= 2:
        return stripped
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def pinyin_of(name: str) -> tuple[str, str]:
    """Full pinyin and initials, lower case without spaces (巴中市 → bazhongshi, bzs)."""
    full = "".join(lazy_pinyin(name)).lower()
    initials = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER)).lower()
    return full, initials


class OrgNotResolved(NotFound):
    """A name or code that matches no org, or more than one."""

    status_code = 404

    def __init__(self, message: str, candidates: list[Org] | None = None) -> None:
        super().__init__(message)
        self.candidates = candidates or []


#: Abbreviations people write for the zones a register spells out.
_ABBREVIATIONS = {"经开区": ("经济开发区", "经济技术开发区"),
                  "高新区": ("高新技术产业开发区", "高新技术开发区", "高新区")}


def _as_written(ref: str) -> ColumnElement[bool] | None:
    """The orgs ``ref`` names as people write them, where the register spells them out:
    阿坝州 (阿坝藏族羌族自治州), 木里县 (木里藏族自治县), 经开区 and 巴中经开区 (巴中经济开发区)."""
    found: list[ColumnElement[bool]] = []
    if len(ref) >= 3 and ref[-1] in "州县":
        found.append(and_(Org.short_name == ref[:-1], Org.name.endswith("自治" + ref[-1])))
    for abbreviation, spelled in _ABBREVIATIONS.items():
        if ref.endswith(abbreviation):
            head = ref.removesuffix(abbreviation)
            found += [Org.name == head + s if head else Org.name.endswith(s) for s in spelled]
    return or_(*found) if found else None


def resolve_org(db: Session, *, ref: str, actor: Actor | None = None) -> Org:
    """The one org that ``ref`` names: a code, a full name, a short name, or ``上级/名称``.

    ``巴中`` = ``巴中市`` = ``511900``; ``阿坝州`` = ``阿坝藏族羌族自治州``; ``经开区`` is the one
    经济(技术)开发区 in reach. Unknown or ambiguous names raise with the candidates.
    """
    ref = ref.strip()
    if not ref:
        raise OrgNotResolved("组织名称或代码为空")
    if len(ref) > 200 or ref.count("/") > 4:  # a tree is five levels deep
        raise OrgNotResolved(f"未找到组织「{ref[:40]}…」")
    parent: Org | None = None
    if "/" in ref:
        parent_ref, _, ref = ref.rpartition("/")
        parent = resolve_org(db, ref=parent_ref, actor=actor)
    scope = scope_condition(db, actor=actor) if actor else true()
    by_code = db.scalar(select(Org).where(Org.code == ref, scope))
    if by_code is not None:
        return by_code
    stmt = select(Org).where(or_(Org.name == ref, Org.short_name == ref), scope)
    if parent is not None:
        stmt = stmt.where(Org.path.startswith(parent.path), Org.id != parent.id)
    matches = list(db.scalars(stmt.order_by(Org.path)))
    written = _as_written(ref) if not matches else None
    if written is not None:
        stmt = select(Org).where(written, scope)
        if parent is not None:
            stmt = stmt.where(Org.path.startswith(parent.path), Org.id != parent.id)
        matches = list(db.scalars(stmt.order_by(Org.path)))
    exact = [o for o in matches if o.name == ref]
    if len(exact) == 1:
        return exact[0]
    if len(matches) == 1:
        return matches[0]
    # A short name shared by levels means the higher one: 通江 is 通江县, not 通江街道.
    shallowest = min((o.path.count("/") for o in matches), default=0)
    top = [o for o in matches if o.path.count("/") == shallowest]
    if len(top) == 1 and not exact:
        return top[0]
    if not matches:
        aliased = _by_alias(db, ref, parent, scope)
        if aliased is not None:
            return aliased
        similar = list(
            db.scalars(
                select(Org).where(Org.name.contains(ref[:2]), scope).order_by(Org.path).limit(5)
            )
        )
        hint = "；可能是：" + "、".join(f"{o.name}({o.code})" for o in similar) if similar else ""
        raise OrgNotResolved(f"未找到组织「{ref}」{hint}", similar)
    listing = "、".join(f"{describe_org(o)}({o.code})" for o in matches[:10])
    raise OrgNotResolved(
        f"组织「{ref}」不唯一，共{len(matches)}个：{listing}；请用代码或「上级/名称」指明",
        matches,
    )


def _by_alias(db: Session, ref: str, parent: Org | None,
              scope: ColumnElement[bool]) -> Org | None:
    """The one org a mapped alias names: a credit code, or a name some city's sources write
    (within ``parent`` when given), so that a name mapped once resolves in every import."""
    stmt = select(Org).join(OrgAlias, OrgAlias.org_id == Org.id).where(scope, or_(
        and_(OrgAlias.kind == AliasKind.code.value, OrgAlias.value == ref.upper()),
        and_(OrgAlias.kind == AliasKind.dept_name.value, OrgAlias.value == ref)))
    if parent is not None:
        stmt = stmt.where(or_(OrgAlias.city_id == parent.id, Org.path.startswith(parent.path)))
    found = {o.id: o for o in db.scalars(stmt)}
    return next(iter(found.values())) if len(found) == 1 else None


def describe_org(org: Org) -> str:
    """The name with its parent, enough to tell namesakes apart (巴中市 恩阳区)."""
    return f"{org.parent.name} {org.name}" if org.parent else org.name


def get_org(db: Session, *, actor: Actor, code: str) -> Org:
    org = db.scalar(select(Org).where(Org.code == code))
    if org is None:
        raise NotFound(f"未找到组织「{code}」")
    return ensure_visible(db, actor=actor, org=org)


def root_orgs(db: Session, *, actor: Actor) -> list[Org]:
    """Where the actor's tree starts: the province, or the liaison's own org."""
    if actor.is_citywide:
        return list(db.scalars(select(Org).where(Org.parent_id.is_(None)).order_by(Org.code)))
    own = own_org(db, actor)
    return [own] if own else []


_LEVEL_ORDER = {level.value: i for i, level in enumerate(OrgLevel)}


def children(db: Session, *, actor: Actor, org: Org) -> list[Org]:
    ensure_visible(db, actor=actor, org=org)
    rows = list(db.scalars(select(Org).where(Org.parent_id == org.id)))
    return sorted(rows, key=lambda o: (_LEVEL_ORDER[o.level], o.code))


def child_counts(db: Session, *, org_ids: list[int]) -> dict[int, int]:
    """How many children each of ``org_ids`` has (one query, for tree expanders)."""
    if not org_ids:
        return {}
    rows = db.execute(
        select(Org.parent_id, func.count())
        .where(Org.parent_id.in_(org_ids))
        .group_by(Org.parent_id)
    ).all()
    return {parent_id: n for parent_id, n in rows if parent_id is not None}


#: Orgs as a list: the higher levels first, then by code.
ORGS = Listing(sorts={"code": ("代码", [Org.code]), "name": ("名称", [Org.name])}, key=Org.id,
               search="名称、代码，或拼音及其首字母（bz → 巴中）")


def search_orgs(
    db: Session,
    *,
    actor: Actor,
    level: OrgLevel | None = None,
    parent: Org | None = None,
    params: ListParams,
) -> Page[Org]:
    """A page of the orgs the actor may see, matching ``params.q`` by name, code, pinyin or
    initials (bz → 巴中)."""
    conditions: list[ColumnElement[bool]] = [scope_condition(db, actor=actor)]
    if q := params.q:
        lowered = q.lower()
        conditions.append(
            or_(
                Org.name.contains(q, autoescape=True),
                Org.code.startswith(q, autoescape=True),
                Org.initials.startswith(lowered, autoescape=True),
                Org.pinyin.startswith(lowered, autoescape=True),
            )
        )
    if level is not None:
        conditions.append(Org.level == level.value)
    if parent is not None:
        conditions.append(Org.parent_id == parent.id)
    return paginate(db, select(Org).where(*conditions), params=params, order=ORGS.order(
        params, default=[func.length(Org.path), Org.code, Org.id]))


def _next_code(db: Session, parent: Org, letter: str) -> str:
    prefix = f"{parent.code}-{letter}"
    existing = db.scalars(select(Org.code).where(Org.code.startswith(prefix))).all()
    numbers = [int(c[len(prefix):]) for c in existing
               if c[len(prefix):].isascii() and c[len(prefix):].isdecimal()]
    return f"{prefix}{(max(numbers, default=0) + 1):02d}"


@audit.action({"org.created": "新建组织"})
def create_org(
    db: Session,
    *,
    actor: Actor,
    name: str,
    level: OrgLevel,
    parent: Org,
    short_name: str | None = None,
    code: str | None = None,
    dept_class: DeptClass | None = None,
) -> Org:
    """Add a zone (county level, no division code) or a municipal department under a city."""
    require_manager(actor, "新增组织")
    if level not in (OrgLevel.county, OrgLevel.department):
        raise DomainError("只能新增县级功能区或市级部门；行政区划来自国家区划代码")
    if OrgLevel(parent.level) is not OrgLevel.city:
        raise DomainError(f"「{name}」的上级应为市(州)，而「{parent.name}」不是")
    if dept_class is not None and level is not OrgLevel.department:
        raise DomainError("只有市级部门才有A类/B类之分")
    if code is not None and not ORG_CODE.fullmatch(code):
        raise DomainError(f"组织代码「{code[:40]}」只能由字母、数字和连字符组成（至多32个字符）")
    code = code or _next_code(db, parent, "D" if level is OrgLevel.department else "Z")
    if db.scalar(select(Org.id).where(Org.code == code)) is not None:
        raise Conflict(f"组织代码「{code}」已存在")
    if db.scalar(select(Org.id).where(Org.parent_id == parent.id, Org.name == name)):
        raise Conflict(f"「{parent.name}」下已有「{name}」")
    full, initials = pinyin_of(name)
    org = Org(
        code=code,
        name=name,
        short_name=short_name or short_name_of(name),
        level=level.value,
        parent_id=parent.id,
        division_code=None,
        dept_class=dept_class.value if dept_class else None,
        pinyin=full,
        initials=initials,
    )
    db.add(org)
    db.flush()
    org.path = f"{parent.path}{org.id}/"
    org.parent = parent
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="org.created",
        object_type="org",
        object_id=code,
        changes={"name": name, "level": level.value, "parent": parent.code,
                 "dept_class": org.dept_class},
    )
    return org


def city_of(org: Org) -> Org | None:
    """The city (市州) an org belongs to, or the org itself if it is one."""
    node: Org | None = org
    while node is not None and node.level != OrgLevel.city.value:
        node = node.parent
    return node
