"""Users, roles and passwords, login throttling, API tokens and browser sessions; who hears of
what (people of an org, the escalation chain).
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
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
from tongban.core.listing import Listing, ListParams, Page, contains_text, paginate
from tongban.core.security import (
    Actor,
    Role,
    hash_api_token,
    hash_password,
    new_api_token,
    new_session_key,
    verify_password,
)
from tongban.org.models import ApiToken, LoginAttempt, Org, User, UserSession


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


def require_user_admin(actor: Actor, what: str = "管理用户") -> None:
    """Users are managed by system administrators only (the one check of every user admin
    operation and page)."""
    if actor.role is not Role.admin:
        raise PermissionDenied(f"只有系统管理员可以{what}")


@audit.action({"user.created": "新建用户"})
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
    require_user_admin(actor, "新建用户")
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


#: Users as a list: by role, then user name.
USERS = Listing(
    sorts={"username": ("用户名", [User.username]), "display_name": ("姓名", [User.display_name]),
           "role": ("角色", [User.role, User.username]),
           "last_login_at": ("最近登录", [User.last_login_at])},
    key=User.id, search="用户名或姓名中的文字")


def list_users(db: Session, *, actor: Actor, role: Role | None = None, org: Org | None = None,
               params: ListParams) -> Page[User]:
    """A page of the users (administrators only), of one ``role`` or of ``org`` and the orgs
    under it, if given."""
    require_user_admin(actor, "管理用户")
    stmt = select(User)
    if role is not None:
        stmt = stmt.where(User.role == role.value)
    if org is not None:
        stmt = stmt.where(User.org_id.in_(select(Org.id).where(Org.path.startswith(org.path))))
    if params.q:
        stmt = stmt.where(contains_text(params.q, User.username, User.display_name))
    return paginate(db, stmt, params=params,
                    order=USERS.order(params, default=[User.role, User.username, User.id]))


def get_user(db: Session, *, actor: Actor, user_id: int) -> User:
    if actor.role is not Role.admin and actor.user_id != user_id:
        raise PermissionDenied("只有系统管理员可以管理用户")
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("未找到该用户")
    return user


def get_user_by_username(db: Session, *, username: str) -> User | None:
    return db.scalar(select(User).where(User.username == username))


@audit.action({"user.updated": "修改用户"})
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
    require_user_admin(actor, "修改用户")
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


#: channels a user may choose (the inbox is always on); the system's TONGBAN_NOTIFY_CHANNELS
#: decides which of them run
PERSONAL_CHANNELS = {"sms": "短信", "email": "电子邮件", "wecom": "企业微信", "dingtalk": "钉钉"}
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}$")
_APP_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


@dataclass(frozen=True)
class Contact:
    """How a user wants to be reached: where, on which channels, and whether as a digest."""

    phone: str = ""
    email: str = ""
    wecom_id: str = ""
    dingtalk_id: str = ""
    channels: tuple[str, ...] | None = None  # None: as they are
    daily_digest: bool = False


def offered_channels() -> dict[str, str]:
    """The personal channels this deployment runs, with their names."""
    running = get_settings().notify_channel_list
    return {name: label for name, label in PERSONAL_CHANNELS.items() if name in running}


def may_take_digest(actor: Actor) -> bool:
    """A daily digest is a city-wide summary: for leaders and the city's staff."""
    return actor.is_citywide


@audit.action({"user.contact_changed": "修改通知方式"})
def set_own_contact(db: Session, *, actor: Actor, contact: Contact) -> User:
    """Change one's own phone, e-mail, 企业微信/钉钉 ids, channels and digest choice."""
    user = db.get(User, actor.user_id) if actor.user_id else None
    if user is None:
        raise PermissionDenied("只有登录用户可以修改通知方式")
    wrong = [label for label, value, pattern in (
        ("手机号", contact.phone, _MOBILE), ("电子邮件", contact.email, _EMAIL),
        ("企业微信用户ID", contact.wecom_id, _APP_ID), ("钉钉用户ID", contact.dingtalk_id, _APP_ID))
        if value and not pattern.match(value)]
    if wrong:
        raise DomainError(f"{'、'.join(wrong)}格式不正确")
    unknown = [c for c in contact.channels or () if c not in PERSONAL_CHANNELS]
    if unknown:
        raise DomainError(f"未知的通知渠道：{'、'.join(unknown)}")
    if contact.daily_digest and not may_take_digest(actor):
        raise PermissionDenied("每日摘要只发给领导和市级工作人员")
    wanted = {"phone": contact.phone, "email": contact.email, "wecom_id": contact.wecom_id,
              "dingtalk_id": contact.dingtalk_id,
              "channels": user.channels if contact.channels is None else ",".join(contact.channels),
              "daily_digest": contact.daily_digest}
    changed = sorted(name for name, value in wanted.items() if getattr(user, name) != value)
    if not changed:
        return user
    for name in changed:
        setattr(user, name, wanted[name])
    db.flush()
    # the fields' names only: a phone or an address is personal data, not an audit detail
    audit.record(db, actor=actor, action="user.contact_changed", object_type="user",
                 object_id=user.username, changes={"fields": changed,
                                                   "channels": wanted["channels"],
                                                   "daily_digest": contact.daily_digest})
    return user


def digest_readers(db: Session) -> list[User]:
    """Everyone who chose the daily digest."""
    return list(db.scalars(select(User).where(User.daily_digest.is_(True),
                                              User.is_active.is_(True)).order_by(User.id)))


@audit.action({"user.password_changed": "修改密码"})
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


def people_of(db: Session, *, org: Org, roles: set[Role]) -> list[User]:
    """Active users with one of ``roles`` attached to ``org``."""
    return list(db.scalars(select(User).where(
        User.org_id == org.id, User.role.in_([r.value for r in roles]),
        User.is_active.is_(True))))


def display_names(db: Session, *, usernames: Iterable[str]) -> dict[str, str]:
    """People's names for the usernames an audit history carries (``system`` is 系统, a citizen
    answering on a tracking page 评价群众)."""
    wanted = set(usernames)
    found = {name: said for name, said in (("system", "系统"), ("citizen", "评价群众"))
             if name in wanted}
    if wanted:
        found.update({u.username: u.display_name or u.username for u in db.scalars(
            select(User).where(User.username.in_(wanted)))})
    return found


def recipients(users: list[User]) -> list[notify.Recipient]:
    """Users as notification recipients."""
    return [notify.Recipient(u.id, u.display_name or u.username, email=u.email, phone=u.phone,
                             wecom_id=u.wecom_id, dingtalk_id=u.dingtalk_id, channels=u.channels)
            for u in users]


def analysts(db: Session) -> list[User]:
    """Every active analyst (考核管理员): who verifies submitted work."""
    return list(db.scalars(select(User).where(User.role == Role.analyst.value,
                                              User.is_active.is_(True))))


def escalation_chain(db: Session, *, org: Org) -> list[User]:
    """Who hears of an overdue matter: the org's leaders (or its nearest ancestor's) and every
    analyst."""
    leaders: list[User] = []
    node: Org | None = org
    while node is not None and not leaders:
        leaders = people_of(db, org=node, roles={Role.leader})
        node = node.parent
    return leaders + analysts(db)


@audit.action({"token.created": "创建 API 令牌"})
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


#: A user's API tokens as a list: in the order they were made.
TOKENS = Listing(sorts={"created_at": ("创建时间", [ApiToken.created_at]),
                        "last_used_at": ("最近使用", [ApiToken.last_used_at])}, key=ApiToken.id)


def list_api_tokens(db: Session, *, actor: Actor, params: ListParams) -> Page[ApiToken]:
    return paginate(db, select(ApiToken).where(ApiToken.user_id == actor.user_id), params=params,
                    order=TOKENS.order(params, default=[ApiToken.id]))


@audit.action({"token.revoked": "吊销 API 令牌"})
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
