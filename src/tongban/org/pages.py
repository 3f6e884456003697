"""HTML pages: login, org browser, cohorts, users, my account (rules live in service)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from tongban.core.db import REQUEST_DB, RowId
from tongban.core.errors import DomainError, PermissionDenied, ValidationFailed
from tongban.core.export import Field, xlsx_response
from tongban.core.listing import ListParams, Page
from tongban.core.security import Actor, Role
from tongban.core.templating import flash, local_path, render, see_other
from tongban.org import service
from tongban.org.access import (
    SESSION_KEY,
    check_csrf,
    get_actor_optional,
    require_actor,
)
from tongban.org.enums import AliasKind, OrgLevel
from tongban.org.models import Org, User

router = APIRouter(include_in_schema=False)



def _members_from_text(db: Session, actor: Actor, text: str) -> list[Org]:
    """One org per line; a line may be "代码 名称", only its first word counts."""
    lines = text.replace("，", "\n").replace(",", "\n").splitlines()
    refs = [line.split()[0] for line in lines if line.strip()]
    return [service.resolve_org(db, ref=r, actor=actor) for r in refs]


# ---------------------------------------------------------------- login


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, next: str = "/", actor: Actor | None = Depends(get_actor_optional)
) -> Response:
    if actor is not None:
        return see_other(local_path(next))
    return render(request, "login.html", {"next": local_path(next)})


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
def login(
    request: Request,
    username: str = Form(...),
    password: str = Form(...),
    next: str = Form("/"),
    db: Session = REQUEST_DB,
) -> Response:
    ip = request.client.host if request.client else ""
    try:
        user = service.authenticate(db, username=username.strip(), password=password, ip=ip)
    except DomainError as exc:
        return render(
            request, "login.html",
            {"error": exc.message, "username": username, "next": local_path(next)},
            status_code=exc.status_code,
        )
    request.session.clear()
    request.session[SESSION_KEY] = service.start_session(db, user=user, ip=ip)
    return see_other(local_path(next))


@router.post("/logout")
def logout(request: Request, db: Session = REQUEST_DB,
           actor: Actor = Depends(require_actor)) -> Response:
    key = request.session.get(SESSION_KEY)
    if isinstance(key, str):
        service.end_session(db, key=key)
    request.session.clear()
    return see_other("/login")


# ---------------------------------------------------------------- org browser


@router.get("/orgs", response_class=HTMLResponse)
def org_browser(
    request: Request,
    params: ListParams = Depends(service.ORGS.params),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    roots = service.root_orgs(db, actor=actor)
    return render(
        request, "orgs.html",
        {
            "roots": roots,
            "counts": service.child_counts(db, org_ids=[o.id for o in roots]),
            **_search(db, actor, params),
        },
    )


@router.get("/orgs/-/search", response_class=HTMLResponse)
def org_search_fragment(
    request: Request,
    params: ListParams = Depends(service.ORGS.params),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    return render(request, "_org_results.html", _search(db, actor, params))


def _search(db: Session, actor: Actor, params: ListParams) -> dict[str, Any]:
    """The search results: a page of the orgs matching ``q``, none without one."""
    found = service.search_orgs(db, actor=actor, params=params) if params.q else None
    return {"params": params, "found": found}


@router.get("/orgs/{code}/tree", response_class=HTMLResponse)
def org_tree_fragment(
    request: Request, code: str, db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    org = service.get_org(db, actor=actor, code=code)
    kids = service.children(db, actor=actor, org=org)
    return render(
        request, "_org_tree.html",
        {"orgs": kids, "counts": service.child_counts(db, org_ids=[o.id for o in kids])},
    )


@router.get("/orgs/{code}", response_class=HTMLResponse)
def org_detail(
    request: Request, code: str, db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    org = service.get_org(db, actor=actor, code=code)
    chain: list[Org] = []
    parent = org.parent
    while parent is not None and service.can_see(db, actor=actor, org=parent):
        chain.insert(0, parent)
        parent = parent.parent
    kids = service.children(db, actor=actor, org=org)
    return render(
        request, "org_detail.html",
        {"org": org, "chain": chain, "children": kids, "levels": OrgLevel},
    )


# ---------------------------------------------------------------- cohorts


@router.get("/cohorts", response_class=HTMLResponse)
def cohort_list(
    request: Request, params: ListParams = Depends(service.COHORTS.params),
    db: Session = REQUEST_DB, actor: Actor = Depends(require_actor),
) -> Response:
    return render(request, "cohorts.html", _cohorts(db, actor, params))


def _cohorts(db: Session, actor: Actor, params: ListParams) -> dict[str, Any]:
    return {"found": service.list_cohorts(db, actor=actor, params=params), "params": params,
            "allowed": service.allowed_cohort_actions(actor)}


@router.post("/cohorts", response_class=HTMLResponse)
def cohort_create(
    request: Request,
    code: str = Form(...),
    name: str = Form(...),
    description: str = Form(""),
    members: str = Form(""),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    try:
        cohort = service.create_cohort(
            db, actor=actor, code=code.strip(), name=name.strip(), description=description,
            members=_members_from_text(db, actor, members),
        )
    except DomainError as exc:
        return render(
            request, "cohorts.html",
            {**_cohorts(db, actor, ListParams()), "error": exc.message,
             "form": {"code": code, "name": name, "description": description,
                      "members": members}},
            status_code=exc.status_code,
        )
    flash(request, f"已新建考核分组「{cohort.name}」")
    return see_other(f"/cohorts/{cohort.code}")


@router.get("/cohorts/{code}", response_class=HTMLResponse)
def cohort_detail(
    request: Request, code: str, db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    cohort = service.get_cohort(db, actor=actor, code=code)
    return render(
        request, "cohort_detail.html",
        {"cohort": cohort, "members": service.cohort_orgs(cohort),
         "allowed": service.allowed_cohort_actions(actor, cohort=cohort)},
    )


@router.post("/cohorts/{code}/members", response_class=HTMLResponse)
def cohort_members(
    request: Request,
    code: str,
    members: str = Form(""),
    reason: str = Form(""),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    cohort = service.get_cohort(db, actor=actor, code=code)
    try:
        service.set_cohort_members(
            db, actor=actor, cohort=cohort, members=_members_from_text(db, actor, members),
            reason=reason,
        )
    except DomainError as exc:
        return render(
            request, "cohort_detail.html",
            {"cohort": cohort, "members": service.cohort_orgs(cohort), "error": exc.message,
             "allowed": service.allowed_cohort_actions(actor, cohort=cohort),
             "members_text": members},
            status_code=exc.status_code,
        )
    flash(request, "分组成员已更新")
    return see_other(f"/cohorts/{cohort.code}")


# ---------------------------------------------------------------- the register of departments


def _aliases(db: Session, actor: Actor, params: ListParams, state: str,
             kind: str) -> dict[str, Any]:
    mapped = {"unmapped": False, "mapped": True}.get(state)
    chosen = AliasKind(kind) if kind in AliasKind._value2member_map_ else None
    return {"found": service.list_aliases(db, actor=actor, params=params, mapped=mapped,
                                          kind=chosen),
            "params": params, "state": state if mapped is not None else "all",
            "kind": chosen.value if chosen else "", "kinds": AliasKind,
            "unmapped": service.unmapped_count(db, actor=actor)}


@router.get("/org/aliases", response_class=HTMLResponse)
def alias_list(
    request: Request, params: ListParams = Depends(service.ALIASES.params),
    state: str = "unmapped", kind: str = "", db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    """The register of departments: the codes and names seen in every source, unmapped first."""
    return render(request, "org_aliases.html", _aliases(db, actor, params, state, kind))


@router.post("/org/aliases", response_class=HTMLResponse)
def alias_map(
    request: Request, alias_id: int | None = Form(None), kind: str = Form(""),
    value: str = Form("", max_length=100), org: str = Form("", max_length=200),
    db: Session = REQUEST_DB, actor: Actor = Depends(require_actor),
) -> Response:
    """Map a seen code or name (``alias_id``), or a new one (``kind`` and ``value``), to an
    org; a refusal is shown on the page with the list."""
    try:
        service.require_manager(actor, "登记部门别名")
        target = service.resolve_org(db, ref=org, actor=actor)
        if alias_id is not None:
            seen = service.get_alias(db, actor=actor, alias_id=alias_id)
            chosen, value, city = AliasKind(seen.kind), seen.value, seen.city
        else:
            if kind not in AliasKind._value2member_map_:
                raise DomainError("请选择别名的类型")
            chosen, city = AliasKind(kind), None
        mapped = service.map_alias(db, actor=actor, kind=chosen, value=value, org=target,
                                   city=city, source="手工登记")
    except PermissionDenied:
        raise
    except DomainError as exc:
        return render(request, "org_aliases.html", {
            **_aliases(db, actor, ListParams(), "unmapped", ""),
            "failure": ValidationFailed.of(exc), "form": {"kind": kind, "value": value,
                                                          "org": org, "alias_id": alias_id}},
            status_code=exc.status_code)
    flash(request, f"「{mapped.value}」已对应到{target.name}")
    return see_other("/org/aliases")


# ---------------------------------------------------------------- users (admin)


@router.get("/admin/users", response_class=HTMLResponse)
def user_list(
    request: Request, role: str = "", org: str = "", format: str = "",
    params: ListParams = Depends(service.USERS.params),
    db: Session = REQUEST_DB, actor: Actor = Depends(require_actor),
) -> Response:
    if format == "xlsx":
        found = _filtered_users(db, actor, params.for_export(), role, org)
        return xlsx_response(found.items, USER_FIELDS, title="用户")
    return render(request, "users.html", _users(db, actor, params, role, org))


#: The users as exported: what the page shows, with role and org names.
USER_FIELDS: list[Field[User]] = [
    Field("用户名", lambda u: u.username),
    Field("姓名", lambda u: u.display_name),
    Field("角色", lambda u: Role(u.role).label),
    Field("所属组织", lambda u: u.org.name if u.org else ""),
    Field("状态", lambda u: "启用" if u.is_active else "停用"),
    Field("最近登录", lambda u: u.last_login_at),
]


def _filtered_users(db: Session, actor: Actor, params: ListParams, role: str,
                    org: str) -> Page[User]:
    return service.list_users(
        db, actor=actor, role=Role(role) if role in Role.__members__ else None,
        org=service.resolve_org(db, ref=org, actor=actor) if org else None, params=params)


def _users(db: Session, actor: Actor, params: ListParams, role: str = "",
           org: str = "") -> dict[str, Any]:
    return {"found": _filtered_users(db, actor, params, role, org), "params": params,
            "roles": Role, "role": role, "org": org}


@router.post("/admin/users", response_class=HTMLResponse)
def user_create(
    request: Request,
    username: str = Form(...),
    display_name: str = Form(""),
    password: str = Form(...),
    role: Role = Form(...),
    org: str = Form(""),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    try:
        org_obj = service.resolve_org(db, ref=org) if org.strip() else None
        user = service.create_user(
            db, actor=actor, username=username.strip(), password=password, role=role,
            org=org_obj, display_name=display_name.strip(),
        )
    except DomainError as exc:
        return render(
            request, "users.html",
            {**_users(db, actor, ListParams()), "error": exc.message,
             "form": {"username": username, "display_name": display_name, "role": role.value,
                      "org": org}},
            status_code=exc.status_code,
        )
    flash(request, f"已新建用户 {user.username}")
    return see_other("/admin/users")


@router.get("/admin/users/{user_id}", response_class=HTMLResponse)
def user_edit_form(
    request: Request, user_id: RowId, db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    service.require_user_admin(actor)
    user = service.get_user(db, actor=actor, user_id=user_id)
    return render(request, "user_edit.html", {"user": user, "roles": Role})


@router.post("/admin/users/{user_id}", response_class=HTMLResponse)
def user_edit(
    request: Request,
    user_id: RowId,
    display_name: str = Form(""),
    role: Role = Form(...),
    org: str = Form(""),
    is_active: bool = Form(False),
    password: str = Form(""),
    reason: str = Form(""),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    user = service.get_user(db, actor=actor, user_id=user_id)
    try:
        org_obj = service.resolve_org(db, ref=org) if org.strip() else None
        service.update_user(
            db, actor=actor, user=user, display_name=display_name.strip() or None, role=role,
            org=org_obj, clear_org=org_obj is None, is_active=is_active,
            password=password or None, reason=reason,
        )
    except DomainError as exc:
        db.rollback()
        user = service.get_user(db, actor=actor, user_id=user_id)
        return render(
            request, "user_edit.html", {"user": user, "roles": Role, "error": exc.message},
            status_code=exc.status_code,
        )
    flash(request, f"已保存用户 {user.username}")
    return see_other("/admin/users")


# ---------------------------------------------------------------- my account


@router.get("/account", response_class=HTMLResponse)
def account(
    request: Request, params: ListParams = Depends(service.TOKENS.params),
    db: Session = REQUEST_DB, actor: Actor = Depends(require_actor),
) -> Response:
    return render(request, "account.html", _tokens(db, actor, params))


def _tokens(db: Session, actor: Actor, params: ListParams) -> dict[str, Any]:
    return {"tokens": service.list_api_tokens(db, actor=actor, params=params), "params": params,
            "me": service.get_user(db, actor=actor, user_id=actor.user_id or 0)
            if actor.user_id else None,
            "offered": service.offered_channels(), "channel_names": service.PERSONAL_CHANNELS,
            "may_digest": service.may_take_digest(actor)}


@router.post("/account/contact", response_class=HTMLResponse)
def account_contact(
    request: Request, phone: str = Form(""), email: str = Form(""), wecom_id: str = Form(""),
    dingtalk_id: str = Form(""), channel_sms: str = Form(""), channel_email: str = Form(""),
    channel_wecom: str = Form(""), channel_dingtalk: str = Form(""), daily_digest: str = Form(""),
    db: Session = REQUEST_DB, actor: Actor = Depends(require_actor),
) -> Response:
    ticked = {"sms": channel_sms, "email": channel_email, "wecom": channel_wecom,
              "dingtalk": channel_dingtalk}
    offered = service.offered_channels()
    try:
        service.set_own_contact(db, actor=actor, contact=service.Contact(
            phone=phone.strip(), email=email.strip(), wecom_id=wecom_id.strip(),
            dingtalk_id=dingtalk_id.strip(),
            channels=tuple(c for c in offered if ticked[c] == "on") if offered else None,
            daily_digest=daily_digest == "on"))
    except DomainError as exc:
        flash(request, exc.message, "error")
        return see_other("/account")
    flash(request, "通知方式已保存")
    return see_other("/account")


@router.post("/account/password", response_class=HTMLResponse)
def account_password(
    request: Request,
    old: str = Form(...),
    new: str = Form(...),
    confirm: str = Form(...),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    if new != confirm:
        flash(request, "两次输入的新密码不一致", "error")
        return see_other("/account")
    try:
        key = request.session.get(SESSION_KEY)
        service.change_own_password(db, actor=actor, old=old, new=new,
                                    keep_session=key if isinstance(key, str) else None)
    except DomainError as exc:
        flash(request, exc.message, "error")
        return see_other("/account")
    flash(request, "密码已修改")
    return see_other("/account")


@router.post("/account/tokens", response_class=HTMLResponse)
def account_token_create(
    request: Request,
    name: str = Form(...),
    db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    _, plain = service.create_api_token(db, actor=actor, name=name.strip() or "未命名")
    return render(
        request, "account.html",
        {**_tokens(db, actor, ListParams()), "new_token": plain},
    )


@router.post("/account/tokens/{token_id}/revoke")
def account_token_revoke(
    request: Request, token_id: RowId, db: Session = REQUEST_DB,
    actor: Actor = Depends(require_actor),
) -> Response:
    service.revoke_api_token(db, actor=actor, token_id=token_id)
    flash(request, "令牌已撤销")
    return see_other("/account")
