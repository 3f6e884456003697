"""Operations on orgs, cohorts, users and tokens; org scoping for every other domain.

Every function takes keyword-only arguments; writes are audited. Scoping rule: admins,
analysts and leaders see every org; liaisons and runners see their own org and its subtree.
"""

from __future__ import annotations

import csv
import re
import secrets
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from pypinyin import Style, lazy_pinyin
from sqlalchemy import ColumnElement, false, func, or_, select, true, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tongban.core import audit, notify, ratelimit
from tongban.core.config import DEFAULT_SECRET_KEY, get_settings
from tongban.core.db import may_write, session_scope, utcnow
from tongban.core.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    TooManyRequests,
)
from tongban.core.security import (
    SYSTEM_ACTOR,
    Actor,
    Role,
    hash_api_token,
    hash_password,
    new_api_token,
    new_session_key,
    verify_password,
)
from tongban.org.enums import DeptClass, OrgLevel
from tongban.org.models import (
    ApiToken,
    Cohort,
    CohortMember,
    LoginAttempt,
    Org,
    User,
    UserSession,
)

PROVINCE_CODE = "510000"
#: An org code: letters, digits and hyphens (it is looked up before names, so it must never
#: look like one).
ORG_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{0,31}")
SICHUAN_CITIES_COHORT = "sichuan-cities"

# ---------------------------------------------------------------- names and pinyin

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


# ---------------------------------------------------------------- scoping


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


# ---------------------------------------------------------------- orgs


class OrgNotResolved(NotFound):
    """A name or code that matches no org, or more than one."""

    status_code = 404

    def __init__(self, message: str, candidates: list[Org] | None = None) -> None:
        super().__init__(message)
        self.candidates = candidates or []


def resolve_org(db: Session, *, ref: str, actor: Actor | None = None) -> Org:
    """The one org that ``ref`` names: a code, a full name, a short name, or ``上级/名称``.

    ``巴中`` = ``巴中市`` = ``511900``. Unknown or ambiguous names raise with the candidates.
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


def search_orgs(
    db: Session,
    *,
    actor: Actor,
    q: str = "",
    level: OrgLevel | None = None,
    parent: Org | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Org], int]:
    """Orgs the actor may see, matching ``q`` by name, code, pinyin or initials (bz → 巴中)."""
    conditions: list[ColumnElement[bool]] = [scope_condition(db, actor=actor)]
    q = q.strip()
    if q:
        lowered = q.lower()
        conditions.append(
            or_(
                Org.name.contains(q),
                Org.code.startswith(q),
                Org.initials.startswith(lowered),
                Org.pinyin.startswith(lowered),
            )
        )
    if level is not None:
        conditions.append(Org.level == level.value)
    if parent is not None:
        conditions.append(Org.parent_id == parent.id)
    total = db.scalar(select(func.count()).select_from(Org).where(*conditions)) or 0
    rows = list(
        db.scalars(
            select(Org)
            .where(*conditions)
            .order_by(func.length(Org.path), Org.code)
            .offset(offset)
            .limit(limit)
        )
    )
    return rows, total


def org_level_counts(db: Session, *, actor: Actor) -> dict[OrgLevel, int]:
    rows = db.execute(
        select(Org.level, func.count())
        .where(scope_condition(db, actor=actor))
        .group_by(Org.level)
    ).all()
    counts = {OrgLevel(level): n for level, n in rows}
    return {level: counts.get(level, 0) for level in OrgLevel}


def _next_code(db: Session, parent: Org, letter: str) -> str:
    prefix = f"{parent.code}-{letter}"
    existing = db.scalars(select(Org.code).where(Org.code.startswith(prefix))).all()
    numbers = [int(c[len(prefix):]) for c in existing
               if c[len(prefix):].isascii() and c[len(prefix):].isdecimal()]
    return f"{prefix}{(max(numbers, default=0) + 1):02d}"


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


# ---------------------------------------------------------------- reference data


@dataclass(frozen=True)
class ReferenceLoad:
    created: int
    updated: int
    unchanged: int


def _read_divisions(filename: str) -> list[dict[str, str]]:
    text = (
        resources.files("tongban.data")
        .joinpath("divisions").joinpath(filename)
        .read_text(encoding="utf-8-sig")
    )
    return list(csv.DictReader(text.splitlines()))


def load_reference_divisions(db: Session) -> ReferenceLoad:
    """Load Sichuan's division tree (1 + 21 + 183 + 3,111 orgs); idempotent."""
    rows: list[tuple[str, str, str, str | None]] = [
        (PROVINCE_CODE, "四川省", OrgLevel.province.value, None)
    ]
    rows += [
        (r["code"] + "00", r["name"], OrgLevel.city.value, PROVINCE_CODE)
        for r in _read_divisions("cities_sichuan.csv")
    ]
    rows += [
        (r["code"], r["name"], OrgLevel.county.value, r["cityCode"] + "00")
        for r in _read_divisions("areas_sichuan.csv")
    ]
    rows += [
        (r["code"], r["name"], OrgLevel.township.value, r["areaCode"])
        for r in _read_divisions("streets_sichuan.csv")
    ]
    existing = {o.code: o for o in db.scalars(select(Org))}
    created = updated = unchanged = 0
    for code, name, level, parent_code in rows:
        parent = existing[parent_code] if parent_code else None
        org = existing.get(code)
        if org is None:
            full, initials = pinyin_of(name)
            org = Org(
                code=code,
                name=name,
                short_name=name if level == OrgLevel.township.value else short_name_of(name),
                level=level,
                parent_id=parent.id if parent else None,
                division_code=code,
                pinyin=full,
                initials=initials,
            )
            db.add(org)
            db.flush()
            org.path = f"{parent.path if parent else '/'}{org.id}/"
            existing[code] = org
            created += 1
        elif org.name != name:
            full, initials = pinyin_of(name)
            org.name, org.short_name, org.pinyin, org.initials = (
                name,
                name if level == OrgLevel.township.value else short_name_of(name),
                full,
                initials,
            )
            updated += 1
        else:
            unchanged += 1
    db.flush()
    if created or updated:
        audit.record(
            db,
            actor=SYSTEM_ACTOR,
            action="reference.divisions_loaded",
            object_type="org",
            object_id=PROVINCE_CODE,
            changes={"created": created, "updated": updated},
        )
    _ensure_reference_cohort(db)
    return ReferenceLoad(created=created, updated=updated, unchanged=unchanged)


def _ensure_reference_cohort(db: Session) -> None:
    cities = list(
        db.scalars(select(Org).where(Org.level == OrgLevel.city.value).order_by(Org.code))
    )
    cohort = db.scalar(select(Cohort).where(Cohort.code == SICHUAN_CITIES_COHORT))
    if cohort is None:
        create_cohort(
            db,
            actor=SYSTEM_ACTOR,
            code=SICHUAN_CITIES_COHORT,
            name="四川省21个市(州)",
            description="省一网通办能力提升考核的评价对象",
            members=cities,
            is_reference=True,
        )


# ---------------------------------------------------------------- cohorts


def list_cohorts(db: Session, *, actor: Actor) -> list[Cohort]:
    require_citywide(actor, "查看考核分组")
    return list(db.scalars(select(Cohort).order_by(Cohort.is_reference.desc(), Cohort.code)))


def get_cohort(db: Session, *, actor: Actor, code: str) -> Cohort:
    require_citywide(actor, "查看考核分组")
    cohort = db.scalar(select(Cohort).where(Cohort.code == code))
    if cohort is None:
        raise NotFound(f"未找到考核分组「{code}」")
    return cohort


def cohort_orgs(cohort: Cohort) -> list[Org]:
    return sorted((m.org for m in cohort.members), key=lambda o: o.code)


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
    require_manager(actor, "新建考核分组")
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


def set_cohort_members(
    db: Session, *, actor: Actor, cohort: Cohort, members: list[Org], reason: str = ""
) -> Cohort:
    """Replace the members of a cohort; the change is audited with what was added and removed."""
    require_manager(actor, "调整考核分组")
    if cohort.is_reference:
        raise DomainError(f"「{cohort.name}」是参考分组，成员来自区划数据，不能手工调整")
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


# ---------------------------------------------------------------- users


def actor_for(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        org_id=user.org_id,
        display_name=user.display_name or user.username,
    )


def _check_role_org(role: Role, org: Org | None) -> None:
    if role in (Role.liaison, Role.runner) and org is None:
        raise DomainError(f"{role.label}必须归属一个组织")


def create_user(
    db: Session,
    *,
    actor: Actor,
    username: str,
    password: str,
    role: Role,
    org: Org | None = None,
    display_name: str = "",
    phone: str = "",
    is_demo: bool = False,
) -> User:
    """A new login. Liaisons and runners must belong to an org."""
    if actor.role is not Role.admin:
        raise PermissionDenied("只有系统管理员可以新建用户")
    if not re.fullmatch(r"[A-Za-z0-9_.-]{3,64}", username):
        raise DomainError("用户名只能用字母、数字、_ . -，3–64 个字符")
    if len(password) < 8:
        raise DomainError("密码至少 8 位")
    _check_role_org(role, org)
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名「{username}」已被使用")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role.value,
        org_id=org.id if org else None,
        org=org,
        phone=phone,
        is_demo=is_demo,
    )
    db.add(user)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="user.created",
        object_type="user",
        object_id=username,
        changes={"role": role.value, "org": org.code if org else None},
    )
    return user


def list_users(db: Session, *, actor: Actor) -> list[User]:
    if actor.role is not Role.admin:
        raise PermissionDenied("只有系统管理员可以管理用户")
    return list(db.scalars(select(User).order_by(User.role, User.username)))


def get_user(db: Session, *, actor: Actor, user_id: int) -> User:
    if actor.role is not Role.admin and actor.user_id != user_id:
        raise PermissionDenied("只有系统管理员可以管理用户")
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("未找到该用户")
    return user


def get_user_by_username(db: Session, *, username: str) -> User | None:
    return db.scalar(select(User).where(User.username == username))


def update_user(
    db: Session,
    *,
    actor: Actor,
    user: User,
    display_name: str | None = None,
    role: Role | None = None,
    org: Org | None = None,
    clear_org: bool = False,
    is_active: bool | None = None,
    password: str | None = None,
    reason: str = "",
) -> User:
    """Change a user's profile, role, org, status or password (admin), audited field by field."""
    if actor.role is not Role.admin:
        raise PermissionDenied("只有系统管理员可以修改用户")
    changes: dict[str, Any] = {}
    if display_name is not None and display_name != user.display_name:
        changes["display_name"] = [user.display_name, display_name]
        user.display_name = display_name
    new_org = None if clear_org else (org or user.org)
    new_role = role or Role(user.role)
    _check_role_org(new_role, new_org)
    if new_role.value != user.role:
        changes["role"] = [user.role, new_role.value]
        user.role = new_role.value
    if (new_org.id if new_org else None) != user.org_id:
        changes["org"] = [user.org.code if user.org else None, new_org.code if new_org else None]
        user.org_id, user.org = (new_org.id if new_org else None), new_org
    if is_active is not None and is_active != user.is_active:
        if not is_active and user.id == actor.user_id:
            raise DomainError("不能停用自己的账号")
        changes["is_active"] = [user.is_active, is_active]
        user.is_active = is_active
    if password:
        if len(password) < 8:
            raise DomainError("密码至少 8 位")
        user.password_hash = hash_password(password)
        changes["password"] = "reset"
    if changes:
        db.flush()
        if {"role", "org", "is_active", "password"} & changes.keys():
            changes["sessions_ended"] = end_user_sessions(db, user_id=user.id)
            changes["tokens_revoked"] = revoke_user_tokens(db, user_id=user.id)
        audit.record(
            db,
            actor=actor,
            action="user.updated",
            object_type="user",
            object_id=user.username,
            changes=changes,
            reason=reason,
        )
    return user


def change_own_password(db: Session, *, actor: Actor, old: str, new: str,
                        keep_session: str | None = None) -> None:
    """Change one's own password; every other session of the user ends (``keep_session``, the
    browser that changed it, stays) and every API token is revoked."""
    user = db.get(User, actor.user_id) if actor.user_id else None
    if user is None or not verify_password(user.password_hash, old):
        raise AuthenticationFailed("原密码不正确")
    if len(new) < 8:
        raise DomainError("新密码至少 8 位")
    user.password_hash = hash_password(new)
    db.flush()
    ended = end_user_sessions(db, user_id=user.id, keep=keep_session)
    revoked = revoke_user_tokens(db, user_id=user.id)
    audit.record(
        db, actor=actor, action="user.password_changed", object_type="user",
        object_id=user.username, changes={"sessions_ended": ended, "tokens_revoked": revoked},
    )


def authenticate(db: Session, *, username: str, password: str, ip: str = "") -> User:
    """The user for these credentials, throttled against guessing.

    Every attempt is counted before the password is checked, by an atomic upsert whose row lock
    serialises concurrent attempts, so parallel guesses cannot slip past the limit. Three
    limits per ``login_lockout_minutes`` window: ``login_max_failures`` for one name from one
    client (so a stranger elsewhere cannot lock the admin out), ``login_max_failures_per_client``
    over all names from one client, and ``login_max_failures_per_user`` for one name from
    everywhere (distributed guessing). A success clears the name's count from that client.
    """
    settings = get_settings()
    window = timedelta(minutes=settings.login_lockout_minutes)
    client = ratelimit.client_key(ip or "-")
    limits = [
        ratelimit.Limit(f"login:{username}:{client}", settings.login_max_failures, window),
        ratelimit.Limit(f"login-client:{client}", settings.login_max_failures_per_client, window),
        ratelimit.Limit(f"login-user:{username}", settings.login_max_failures_per_user, window),
    ]
    hits = [ratelimit.count_hit(db, key=lim.key, window=window) for lim in limits]
    now = utcnow()
    over = [hit for hit, lim in zip(hits, limits, strict=True) if hit.over(lim.limit)]
    if over:
        db.commit()  # the refused attempt counts too
        minutes = max(1, int((max(h.resets_at for h in over) - now).total_seconds() // 60) + 1)
        raise TooManyRequests(f"登录失败次数过多，请{minutes}分钟后再试")
    user = get_user_by_username(db, username=username)
    # The hash is checked whether or not the name exists, so that the time taken does not
    # tell a stranger which names do.
    matches = verify_password(user.password_hash if user is not None else _DUMMY_HASH, password)
    ok = user is not None and user.is_active and matches
    db.add(LoginAttempt(username=username[:64], ip=ip[:64], succeeded=ok, at=now))
    if not ok or user is None:
        # The failure must outlive the refusal, or throttling would never see it.
        db.commit()
        left = settings.login_max_failures - hits[0].hits
        suffix = f"，再错{left}次将锁定{settings.login_lockout_minutes}分钟" if left <= 2 else ""
        raise AuthenticationFailed(f"用户名或密码错误{suffix}")
    ratelimit.forget(db, key=limits[0].key)
    for lim in limits[1:]:
        ratelimit.count_hit(db, key=lim.key, window=window, amount=-1)
    user.last_login_at = now
    db.flush()
    return user


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def production_problems(db: Session) -> list[str]:
    """Why this installation must not serve in production mode (empty when it may)."""
    settings = get_settings()
    problems = []
    if settings.secret_key == DEFAULT_SECRET_KEY or len(settings.secret_key) < 32:
        problems.append("TONGBAN_SECRET_KEY 仍是默认值或少于32个字符")
    if not settings.data_keys.strip():
        problems.append("未设置 TONGBAN_DATA_KEYS（加密个人信息的密钥，用 tongban keys generate 生成）")
    demo_users = db.scalars(
        select(User.username).where(User.is_demo.is_(True), User.is_active.is_(True))
    ).all()
    if demo_users:
        problems.append(f"存在演示账号：{'、'.join(demo_users)}（请停用或删除）")
    return problems


def city_of(org: Org) -> Org | None:
    """The city (市州) an org belongs to, or the org itself if it is one."""
    node: Org | None = org
    while node is not None and node.level != OrgLevel.city.value:
        node = node.parent
    return node


def people_of(db: Session, *, org: Org, roles: set[Role]) -> list[User]:
    """Active users with one of ``roles`` attached to ``org``."""
    return list(db.scalars(select(User).where(
        User.org_id == org.id, User.role.in_([r.value for r in roles]),
        User.is_active.is_(True))))


def recipients(users: list[User]) -> list[notify.Recipient]:
    """Users as notification recipients."""
    return [notify.Recipient(u.id, u.display_name or u.username, phone=u.phone) for u in users]


def escalation_chain(db: Session, *, org: Org) -> list[User]:
    """Who hears of an overdue matter: the org's leaders (or its nearest ancestor's) and every
    analyst."""
    leaders: list[User] = []
    node: Org | None = org
    while node is not None and not leaders:
        leaders = people_of(db, org=node, roles={Role.leader})
        node = node.parent
    analysts = list(db.scalars(select(User).where(User.role == Role.analyst.value,
                                                  User.is_active.is_(True))))
    return leaders + analysts


# ---------------------------------------------------------------- API tokens


def create_api_token(db: Session, *, actor: Actor, name: str) -> tuple[ApiToken, str]:
    """A new bearer token for the acting user; the plain token is returned once."""
    if actor.user_id is None:
        raise DomainError("系统账号不能申请令牌")
    plain = new_api_token()
    token = ApiToken(
        user_id=actor.user_id, name=name, token_hash=hash_api_token(plain), hint=plain[:7]
    )
    db.add(token)
    db.flush()
    audit.record(
        db, actor=actor, action="token.created", object_type="api_token", object_id=token.id,
        changes={"name": name},
    )
    return token, plain


def list_api_tokens(db: Session, *, actor: Actor) -> list[ApiToken]:
    return list(
        db.scalars(
            select(ApiToken).where(ApiToken.user_id == actor.user_id).order_by(ApiToken.id)
        )
    )


def revoke_api_token(db: Session, *, actor: Actor, token_id: int) -> ApiToken:
    token = db.get(ApiToken, token_id)
    if token is None or (token.user_id != actor.user_id and actor.role is not Role.admin):
        raise NotFound("未找到该令牌")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.flush()
        audit.record(
            db, actor=actor, action="token.revoked", object_type="api_token",
            object_id=token.id,
        )
    return token


def actor_for_api_token(db: Session, *, plain: str) -> Actor | None:
    """The actor of a live token. Reading writes nothing: the use is noted in memory and
    stamped by :func:`record_token_use` at most once a minute, in a transaction of its own."""
    token = db.scalar(select(ApiToken).where(ApiToken.token_hash == hash_api_token(plain)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    _token_use.note(token.id, stamped=token.last_used_at)
    return actor_for(token.user)


class _TokenUse:
    """Uses of API tokens not yet stamped in the database, per process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: dict[int, datetime] = {}
        self.flushed_at: datetime | None = None

    def note(self, token_id: int, *, stamped: datetime | None) -> None:
        now = utcnow()
        if stamped is not None and now - stamped < TOKEN_USE_INTERVAL:
            return
        with self.lock:
            self.pending[token_id] = now

    def due(self) -> dict[int, datetime]:
        """What to stamp now: everything pending, once a minute at the most."""
        now = utcnow()
        with self.lock:
            if not self.pending or (self.flushed_at and now - self.flushed_at < TOKEN_USE_INTERVAL):
                return {}
            taken, self.pending, self.flushed_at = self.pending, {}, now
            return taken

    def give_back(self, taken: dict[int, datetime]) -> None:
        with self.lock:
            for token_id, at in taken.items():
                self.pending.setdefault(token_id, at)


_token_use = _TokenUse()
#: How often a token's last use is written.
TOKEN_USE_INTERVAL = timedelta(minutes=1)


def record_token_use() -> int:
    """Stamp the pending token uses in one short transaction of their own; on a busy database
    they stay pending for the next call. How many were stamped."""
    taken = _token_use.due()
    if not taken:
        return 0
    writing = may_write.set(True)
    try:
        with session_scope() as session:
            for token_id, at in taken.items():
                session.execute(update(ApiToken).where(
                    ApiToken.id == token_id,
                    or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < at),
                ).values(last_used_at=at))
    except OperationalError:
        _token_use.give_back(taken)
        return 0
    finally:
        may_write.reset(writing)
    return len(taken)


# ---------------------------------------------------------------- browser sessions


def start_session(db: Session, *, user: User, ip: str = "") -> str:
    """A new server-side session for ``user``; the returned key goes into the cookie."""
    key = new_session_key()
    now = utcnow()
    db.add(UserSession(key_hash=hash_api_token(key), user_id=user.id, created_at=now,
                       expires_at=now + timedelta(hours=get_settings().session_max_age_hours),
                       ip=ip[:64]))
    db.flush()
    return key


def end_session(db: Session, *, key: str) -> None:
    """Logout: the session with ``key`` stops working everywhere at once."""
    found = db.scalar(select(UserSession).where(UserSession.key_hash == hash_api_token(key)))
    if found is not None and found.revoked_at is None:
        found.revoked_at = utcnow()
        db.flush()


def revoke_user_tokens(db: Session, *, user_id: int) -> int:
    """Revoke every live API token of a user (whoever learnt the old password may have made
    one); how many."""
    now = utcnow()
    live = list(db.scalars(select(ApiToken).where(ApiToken.user_id == user_id,
                                                  ApiToken.revoked_at.is_(None))))
    for token in live:
        token.revoked_at = now
    db.flush()
    return len(live)


def end_user_sessions(db: Session, *, user_id: int, keep: str | None = None) -> int:
    """End every live session of a user (password, role or org change, deactivation), but the
    one with key ``keep``; how many ended."""
    stmt = select(UserSession).where(UserSession.user_id == user_id,
                                     UserSession.revoked_at.is_(None))
    if keep:
        stmt = stmt.where(UserSession.key_hash != hash_api_token(keep))
    now = utcnow()
    ended = list(db.scalars(stmt))
    for found in ended:
        found.revoked_at = now
    db.flush()
    return len(ended)


def actor_for_session(db: Session, *, key: str) -> Actor | None:
    """The actor of a live session, or None when it ended, expired or its user is inactive."""
    found = db.scalar(select(UserSession).where(UserSession.key_hash == hash_api_token(key)))
    if (found is None or found.revoked_at is not None or found.expires_at <= utcnow()
            or not found.user.is_active):
        return None
    return actor_for(found.user)
