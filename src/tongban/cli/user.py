"""``tongban user``: users and roles."""

from __future__ import annotations

from typing import Annotated

import typer

from tongban.cli.output import console
from tongban.cli.session import service_call
from tongban.core.security import SYSTEM_ACTOR, Role

user_app = typer.Typer(help="用户与角色。", no_args_is_help=True)


@user_app.command("create", help="新建用户。联络员、跑手须指定所属组织。")
def user_create(
    username: Annotated[str, typer.Argument(help="用户名")],
    role: Annotated[Role, typer.Option(help="角色：admin/analyst/leader/liaison/runner")],
    password: Annotated[
        str, typer.Option(prompt="密码", hide_input=True, confirmation_prompt=True, help="密码")
    ],
    org: Annotated[str | None, typer.Option(help="所属组织（代码或名称）")] = None,
    name: Annotated[str, typer.Option(help="姓名")] = "",
) -> None:
    from tongban.org import service as org_service

    with service_call() as db:
        org_obj = org_service.resolve_org(db, ref=org) if org else None
        user = org_service.create_user(
            db, actor=SYSTEM_ACTOR, username=username, password=password, role=role,
            org=org_obj, display_name=name,
        )
        console.print(f"已新建用户 {user.username}（{role.label}）")
