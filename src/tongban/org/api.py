"""JSON API of orgs, cohorts, users and tokens (thin: every rule is in ``service``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel
from sqlalchemy.orm import Session

from tongban.core.db import REQUEST_DB, RowId
from tongban.core.listing import ListParams, Page, PageOut, page_out
from tongban.core.security import Actor, Role
from tongban.org import service
from tongban.org.access import require_actor
from tongban.org.enums import AliasKind, DeptClass, OrgLevel
from tongban.org.models import ApiToken, Cohort, Org, OrgAlias, User
from tongban.org.schemas import (
    AliasMap,
    AliasRead,
    CohortCreate,
    CohortMembersUpdate,
    CohortRead,
    ContactRead,
    ContactUpdate,
    OrgCreate,
    OrgRead,
    TokenCreate,
    TokenIssued,
    TokenRead,
    UserCreate,
    UserRead,
    UserUpdate,
)

router = APIRouter()
public_router = APIRouter()


def org_read(org: Org) -> OrgRead:
    return OrgRead(
        code=org.code,
        name=org.name,
        short_name=org.short_name,
        level=OrgLevel(org.level),
        parent_code=org.parent.code if org.parent else None,
        division_code=org.division_code,
        dept_class=DeptClass(org.dept_class) if org.dept_class else None,
    )


def cohort_read(cohort: Cohort) -> CohortRead:
    return CohortRead(
        code=cohort.code,
        name=cohort.name,
        description=cohort.description,
        is_reference=cohort.is_reference,
        members=[org_read(o) for o in service.cohort_orgs(cohort)],
    )


def user_read(user: User) -> UserRead:
    return UserRead(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        org_code=user.org.code if user.org else None,
        is_active=user.is_active,
        last_login_at=user.last_login_at,
    )


def token_read(token: ApiToken) -> TokenRead:
    return TokenRead(
        id=token.id,
        name=token.name,
        hint=token.hint,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


# ---------------------------------------------------------------- orgs


@router.get("/orgs", response_model=PageOut[OrgRead], summary="组织列表与搜索(拼音首字母可用)")
def list_orgs(
    response: Response,
    level: OrgLevel | None = None,
    parent: str | None = None,
    params: ListParams = Depends(service.ORGS.params),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> PageOut[OrgRead]:
    parent_org = service.get_org(db, actor=actor, code=parent) if parent else None
    found = service.search_orgs(db, actor=actor, level=level, parent=parent_org, params=params)
    return page_out(response, found.map(org_read))


@router.get("/orgs/{code}", response_model=OrgRead, summary="组织详情")
def read_org(
    code: str, db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)
) -> OrgRead:
    return org_read(service.get_org(db, actor=actor, code=code))


@router.get("/orgs/{code}/children", response_model=PageOut[OrgRead],
            summary="下级组织（一次给全：组织树的一层）")
def read_org_children(
    response: Response, code: str, db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> PageOut[OrgRead]:
    org = service.get_org(db, actor=actor, code=code)
    return page_out(response, Page.whole([org_read(o)
                                          for o in service.children(db, actor=actor, org=org)]))


@router.post(
    "/orgs", response_model=OrgRead, status_code=status.HTTP_201_CREATED,
    summary="新增功能区或市级部门",
)
def create_org(
    body: OrgCreate, db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)
) -> OrgRead:
    parent = service.resolve_org(db, ref=body.parent, actor=actor)
    org = service.create_org(
        db,
        actor=actor,
        name=body.name,
        level=body.level,
        parent=parent,
        short_name=body.short_name,
        code=body.code,
        dept_class=body.dept_class,
    )
    return org_read(org)


# ---------------------------------------------------------------- cohorts


def alias_read(a: OrgAlias) -> AliasRead:
    return AliasRead(id=a.id, kind=AliasKind(a.kind), value=a.value,
                     city_code=a.city.code if a.city else None,
                     org_code=a.org.code if a.org else None,
                     org_name=a.org.name if a.org else None, source=a.source,
                     mapped_by=a.mapped_by, created_at=a.created_at, updated_at=a.updated_at)


@router.get("/org-aliases", response_model=PageOut[AliasRead],
            summary="部门别名：各来源写部门的信用代码和名称（mapped=false 为尚未对应的）")
def list_aliases(
    response: Response, params: ListParams = Depends(service.ALIASES.params),
    mapped: bool | None = None, kind: AliasKind | None = None,
    db: Session = REQUEST_DB, actor: Actor = Depends(require_actor),
) -> PageOut[AliasRead]:
    return page_out(response, service.list_aliases(
        db, actor=actor, params=params, mapped=mapped, kind=kind).map(alias_read))


@router.put("/org-aliases", response_model=AliasRead,
            summary="登记部门别名：信用代码或名称对应到单位（名称按单位所在的市记住）")
def map_alias(body: AliasMap, db: Session = REQUEST_DB,
              actor: Actor = Depends(require_actor)) -> AliasRead:
    service.require_manager(actor, "登记部门别名")
    org = service.resolve_org(db, ref=body.org, actor=actor)
    return alias_read(service.map_alias(db, actor=actor, kind=body.kind, value=body.value,
                                        org=org, source="接口"))


@router.get("/cohorts", response_model=PageOut[CohortRead], summary="考核分组")
def list_cohorts(
    response: Response, params: ListParams = Depends(service.COHORTS.params),
    db: Session = REQUEST_DB, actor: Actor = Depends(require_actor),
) -> PageOut[CohortRead]:
    return page_out(response, service.list_cohorts(db, actor=actor, params=params).map(cohort_read))


@router.get("/cohorts/{code}", response_model=CohortRead, summary="考核分组详情")
def read_cohort(
    code: str, db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)
) -> CohortRead:
    return cohort_read(service.get_cohort(db, actor=actor, code=code))


@router.post(
    "/cohorts", response_model=CohortRead, status_code=status.HTTP_201_CREATED,
    summary="新建考核分组",
)
def create_cohort(
    body: CohortCreate, db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)
) -> CohortRead:
    service.check_cohort_action(actor)  # before resolving members, which may reveal orgs
    members = [service.resolve_org(db, ref=m, actor=actor) for m in body.members]
    cohort = service.create_cohort(
        db, actor=actor, code=body.code, name=body.name, description=body.description,
        members=members,
    )
    return cohort_read(cohort)


@router.put("/cohorts/{code}/members", response_model=CohortRead, summary="调整分组成员")
def set_cohort_members(
    code: str,
    body: CohortMembersUpdate,
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> CohortRead:
    cohort = service.get_cohort(db, actor=actor, code=code)
    service.check_cohort_action(actor, cohort)
    members = [service.resolve_org(db, ref=m, actor=actor) for m in body.members]
    service.set_cohort_members(db, actor=actor, cohort=cohort, members=members, reason=body.reason)
    return cohort_read(cohort)


# ---------------------------------------------------------------- users


@router.get("/users", response_model=PageOut[UserRead], summary="用户列表(管理员)")
def list_users(
    response: Response, role: Role | None = None,
    org: str | None = Query(None, description="所属组织（名称或代码，含下级）"),
    params: ListParams = Depends(service.USERS.params),
    db: Session = REQUEST_DB, actor: Actor = Depends(require_actor),
) -> PageOut[UserRead]:
    target = service.resolve_org(db, ref=org, actor=actor) if org else None
    return page_out(response, service.list_users(db, actor=actor, role=role, org=target,
                                                 params=params).map(user_read))


@router.post(
    "/users", response_model=UserRead, status_code=status.HTTP_201_CREATED,
    summary="新建用户(管理员)",
)
def create_user(
    body: UserCreate,
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> UserRead:
    org = service.resolve_org(db, ref=body.org) if body.org else None
    user = service.create_user(
        db, actor=actor, username=body.username, password=body.password, role=body.role,
        org=org, display_name=body.display_name,
    )
    return user_read(user)


@router.get("/users/{user_id}", response_model=UserRead, summary="用户详情")
def read_user(
    user_id: RowId, db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)
) -> UserRead:
    return user_read(service.get_user(db, actor=actor, user_id=user_id))


@router.patch("/users/{user_id}", response_model=UserRead, summary="修改用户(管理员)")
def update_user(
    user_id: RowId,
    body: UserUpdate,
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> UserRead:
    user = service.get_user(db, actor=actor, user_id=user_id)
    org = service.resolve_org(db, ref=body.org) if body.org else None
    service.update_user(
        db, actor=actor, user=user, display_name=body.display_name, role=body.role, org=org,
        is_active=body.is_active, password=body.password,
    )
    return user_read(user)


# ---------------------------------------------------------------- me and tokens


@router.get("/me", response_model=UserRead, summary="当前用户")
def read_me(db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> UserRead:
    return user_read(service.get_user(db, actor=actor, user_id=actor.user_id or 0))


def _contact_read(user: User) -> ContactRead:
    return ContactRead(phone=user.phone, email=user.email, wecom_id=user.wecom_id,
                       dingtalk_id=user.dingtalk_id, channels=user.channels,
                       daily_digest=user.daily_digest, offered=service.offered_channels())


@router.get("/me/contact", response_model=ContactRead, summary="我的通知方式")
def read_contact(db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)) -> ContactRead:
    return _contact_read(service.get_user(db, actor=actor, user_id=actor.user_id or 0))


@router.put("/me/contact", response_model=ContactRead, summary="修改我的通知方式")
def update_contact(body: ContactUpdate, db: Session = REQUEST_DB,
                   actor: Actor = Depends(require_actor)) -> ContactRead:
    contact = service.Contact(
        phone=body.phone.strip(), email=body.email.strip(), wecom_id=body.wecom_id.strip(),
        dingtalk_id=body.dingtalk_id.strip(),
        channels=None if body.channels is None else tuple(body.channels),
        daily_digest=body.daily_digest)
    return _contact_read(service.set_own_contact(db, actor=actor, contact=contact))


@router.get("/me/tokens", response_model=PageOut[TokenRead], summary="我的 API 令牌")
def list_tokens(
    response: Response, params: ListParams = Depends(service.TOKENS.params),
    db: Session = REQUEST_DB, actor: Actor = Depends(require_actor),
) -> PageOut[TokenRead]:
    return page_out(response,
                    service.list_api_tokens(db, actor=actor, params=params).map(token_read))


@router.post(
    "/me/tokens", response_model=TokenIssued, status_code=status.HTTP_201_CREATED,
    summary="申请 API 令牌",
)
def create_token(
    body: TokenCreate, db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)
) -> TokenIssued:
    token, plain = service.create_api_token(db, actor=actor, name=body.name)
    return TokenIssued(**token_read(token).model_dump(), token=plain)


@router.delete("/me/tokens/{token_id}", response_model=TokenRead, summary="撤销 API 令牌")
def revoke_token(
    token_id: RowId, db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)
) -> TokenRead:
    return token_read(service.revoke_api_token(db, actor=actor, token_id=token_id))


class TokenRequest(BaseModel):
    username: str
    password: str
    name: str = "script"


@public_router.post(
    "/auth/token", response_model=TokenIssued, status_code=status.HTTP_201_CREATED,
    summary="用用户名和密码换取 API 令牌",
)
def issue_token(body: TokenRequest, request: Request, db: Session = REQUEST_DB) -> TokenIssued:
    ip = request.client.host if request.client else ""
    user = service.authenticate(db, username=body.username, password=body.password, ip=ip)
    token, plain = service.create_api_token(db, actor=service.actor_for(user), name=body.name)
    return TokenIssued(**token_read(token).model_dump(), token=plain)
