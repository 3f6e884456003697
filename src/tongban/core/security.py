"""Passwords, API tokens, CSRF tokens, roles and the acting user.

Org scoping itself lives in ``org.service`` (it needs the org tree); this module only knows
who is acting and with which role.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tongban.core.choices import Choice

_hasher = PasswordHasher()

API_TOKEN_PREFIX = "tb_"


class Role(Choice):
    """What a user may do; ``label`` is what the UI shows."""

    admin = "admin", "系统管理员"
    analyst = "analyst", "考核管理员"
    leader = "leader", "领导"
    liaison = "liaison", "联络员"
    runner = "runner", "跑手"


#: Roles that read every org's data; the others are scoped to their own org subtree.
CITYWIDE_ROLES = frozenset({Role.admin, Role.analyst, Role.leader})
#: Roles that manage schemes, cohorts and imported data.
MANAGER_ROLES = frozenset({Role.admin, Role.analyst})


@dataclass(frozen=True)
class Actor:
    """The authenticated user behind a request or a CLI command."""

    user_id: int | None
    username: str
    role: Role
    org_id: int | None = None
    display_name: str = ""

    @property
    def is_citywide(self) -> bool:
        return self.role in CITYWIDE_ROLES

    @property
    def can_manage(self) -> bool:
        return self.role in MANAGER_ROLES


@dataclass(frozen=True)
class Outsider:
    """Someone without an account who changes something through a public page (a citizen
    answering on a tracking page): named in the audit log, holding no role and so no power
    in any service that takes an :class:`Actor`."""

    username: str
    display_name: str = ""
    user_id: None = None


#: The actor of CLI commands run by an operator on the server.
SYSTEM_ACTOR = Actor(user_id=None, username="system", role=Role.admin, display_name="系统")


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches; never raises on a malformed hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_api_token() -> str:
    """A fresh bearer token; only its hash is stored."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_key() -> str:
    """A fresh browser-session key; the cookie carries it, the database only its hash."""
    return secrets.token_urlsafe(32)


def hash_api_token(token: str) -> str:
    """The stored form of a bearer token or session key (SHA-256: both are long and random)."""
    return hashlib.sha256(token.encode()).hexdigest()


def session_csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        session["csrf"] = token
    return str(token)


def csrf_tokens_match(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))
