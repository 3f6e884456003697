"""Pydantic models of the org domain's API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from tongban.core.security import Role
from tongban.org.enums import AliasKind, DeptClass, OrgLevel


class OrgRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    short_name: str
    level: OrgLevel
    parent_code: str | None = None
    division_code: str | None = None
    dept_class: DeptClass | None = None


class OrgCreate(BaseModel):
    """A county-level zone (no division code) or a municipal department."""

    name: str = Field(min_length=2, max_length=100)
    short_name: str | None = None
    level: OrgLevel
    parent: str = Field(description="上级组织的代码或名称")
    code: str | None = Field(default=None, description="留空则自动生成")
    dept_class: DeptClass | None = None


class CohortRead(BaseModel):
    code: str
    name: str
    description: str
    is_reference: bool
    members: list[OrgRead]


class CohortCreate(BaseModel):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,63}$")
    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    members: list[str] = Field(default_factory=list, description="组织代码或名称")


class CohortMembersUpdate(BaseModel):
    members: list[str]
    reason: str = ""


class UserRead(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    org_code: str | None
    is_active: bool
    last_login_at: datetime | None


class UserCreate(BaseModel):
    username: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,64}$")
    display_name: str = ""
    password: str = Field(min_length=8)
    role: Role
    org: str | None = None


class UserUpdate(BaseModel):
    display_name: str | None = None
    role: Role | None = None
    org: str | None = None
    is_active: bool | None = None
    password: str | None = Field(default=None, min_length=8)


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class TokenRead(BaseModel):
    id: int
    name: str
    hint: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenIssued(TokenRead):
    token: str = Field(description="只显示这一次，请妥善保存")


class ContactRead(BaseModel):
    """How the current user is reached; ``channels`` besides the inbox (``*`` every one the
    deployment runs), ``offered`` the ones it runs."""

    phone: str
    email: str
    wecom_id: str
    dingtalk_id: str
    channels: str
    daily_digest: bool
    offered: dict[str, str]


class ContactUpdate(BaseModel):
    phone: str = Field(default="", max_length=32)
    email: str = Field(default="", max_length=200)
    wecom_id: str = Field(default="", max_length=64)
    dingtalk_id: str = Field(default="", max_length=64)
    channels: list[str] | None = Field(default=None, max_length=8,
                                       description="不填则保持不变；[] 表示只收站内消息")
    daily_digest: bool = False


class AliasRead(BaseModel):
    id: int
    kind: AliasKind = Field(description="code 统一社会信用代码（全省唯一）；name 部门名称（按写它的市区分）")
    value: str
    city_code: str | None = Field(None, description="名称所属的市（写这个名称的来源所在的市）")
    org_code: str | None = Field(None, description="对应的单位；未对应时为空")
    org_name: str | None = None
    source: str = Field(description="最先在哪里见到或登记：好差评、对标、手工登记")
    mapped_by: str
    created_at: datetime
    updated_at: datetime


class AliasMap(BaseModel):
    kind: AliasKind
    value: str = Field(min_length=1, max_length=100, description="信用代码或部门名称")
    org: str = Field(min_length=1, max_length=200, description="单位名称或代码")
