"""``tongban org``: orgs and cohorts."""

from __future__ import annotations

from typing import Annotated

import typer

from tongban.cli.options import JsonOption
from tongban.cli.output import console, emit
from tongban.cli.session import service_call
from tongban.core.security import SYSTEM_ACTOR

org_app = typer.Typer(help="组织机构与考核分组。", no_args_is_help=True)
cohort_app = typer.Typer(help="考核分组：同组内相互排名的评价对象。", no_args_is_help=True)
org_app.add_typer(cohort_app, name="cohort")


@cohort_app.command("create", help="新建考核分组：同组内的评价对象相互排名。")
def cohort_create(
    code: Annotated[str, typer.Argument(help="分组代码，如 bz-counties")],
    name: Annotated[str, typer.Option(help="分组名称")],
    member: Annotated[list[str], typer.Option(help="成员（代码或名称，可重复）")],
    description: Annotated[str, typer.Option(help="说明")] = "",
    as_json: JsonOption = False,
) -> None:
    from tongban.org import service as org_service

    with service_call() as db:
        members = [org_service.resolve_org(db, ref=m) for m in member]
        cohort = org_service.create_cohort(
            db, actor=SYSTEM_ACTOR, code=code, name=name, members=members,
            description=description,
        )
        payload = {"code": cohort.code, "name": cohort.name,
                   "members": [o.code for o in members]}
    emit(as_json, payload,
         lambda: console.print(f"已新建考核分组 {code}「{name}」，{len(members)} 个成员"))
