"""Tables of organisations, cohorts, users, API tokens and login attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tongban.core.db import Base, UTCDateTime, utcnow


class Org(Base):
    """An organisation in the tree: a division (province … township), a zone or a department.

    ``code`` is the 6-digit division code where one exists (巴中市 = 511900; townships keep
    their 9-digit code); zones and departments get a code under their city (``511900-Z01``).
    ``path`` lists the ids from the root (``/1/20/301/``) so a subtree is one prefix query.
    """

    __tablename__ = "org"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    short_name: Mapped[str] = mapped_column(String(50), index=True)
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)
    path: Mapped[str] = mapped_column(String(200), index=True, default="/")
    division_code: Mapped[str | None] = mapped_column(String(12))
    dept_class: Mapped[str | None] = mapped_column(String(1))
    pinyin: Mapped[str] = mapped_column(String(300), default="")
    initials: Mapped[str] = mapped_column(String(100), default="", index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    parent: Mapped[Org | None] = relationship(remote_side="Org.id", lazy="joined", innerjoin=False)

    @property
    def is_zone(self) -> bool:
        """A county-level org without a division code (经开区, 新区)."""
        return self.level == "county" and self.division_code is None


class Cohort(Base):
    """A named set of evaluated orgs ranked against each other (县区类, 市级A类 …)."""

    __tablename__ = "cohort"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    is_reference: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    members: Mapped[list[CohortMember]] = relationship(
        back_populates="cohort", cascade="all, delete-orphan", lazy="selectin"
    )


class CohortMember(Base):
    """Membership of one org in one cohort."""

    __tablename__ = "cohort_member"

    cohort_id: Mapped[int] = mapped_column(
        ForeignKey("cohort.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), primary_key=True, index=True)

    cohort: Mapped[Cohort] = relationship(back_populates="members")
    org: Mapped[Org] = relationship(lazy="joined")


class OrgAlias(Base):
    """Another way a source writes an org: a credit code / deptCode (``kind`` code, valid
    province-wide) or a name (``kind`` name: a full or short name, the province's 实施部门
    name, read within one city's sources, ``city_id``). ``org_id`` None: seen in a source
    (``source``) and not mapped yet; an analyst maps it once and every feeder knows it."""

    __tablename__ = "org_alias"
    __table_args__ = (
        UniqueConstraint("kind", "city_id", "value"),
        # a code is one row province-wide (the unique constraint above lets NULLs repeat)
        Index("uq_org_alias_code", "value", unique=True,
              sqlite_where=text("kind = 'code'"), postgresql_where=text("kind = 'code'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(100))
    city_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)
    source: Mapped[str] = mapped_column(String(32), default="")
    mapped_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    org: Mapped[Org | None] = relationship(lazy="joined", foreign_keys=[org_id])
    city: Mapped[Org | None] = relationship(lazy="joined", foreign_keys=[city_id])


class User(Base):
    """A person who logs in; liaisons and runners belong to an org and see its subtree only."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), index=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)
    phone: Mapped[str] = mapped_column(String(32), default="")
    email: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # the user's id in 企业微信 / 钉钉 (messages go to them in person, not through a group robot)
    wecom_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    dingtalk_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # channels the user takes besides the inbox, comma-separated; "*" every configured one
    channels: Mapped[str] = mapped_column(String(100), default="*", server_default="*")
    daily_digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    org: Mapped[Org | None] = relationship(lazy="joined")


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored, revocable."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined")


class UserSession(Base):
    """A browser's login: the cookie holds only ``key``, whose SHA-256 is stored here, so that
    logout, a password or role change and deactivation end it on the server at once."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ip: Mapped[str] = mapped_column(String(64), default="")

    user: Mapped[User] = relationship(lazy="joined")


class LoginAttempt(Base):
    """One login try, kept to throttle guessing (per user name, across processes)."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_username_at", "username", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64), default="")
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


__all__ = ["ApiToken", "Cohort", "CohortMember", "LoginAttempt", "Org", "OrgAlias", "User",
           "UserSession"]
