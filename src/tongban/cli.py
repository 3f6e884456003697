"""Command line: ``tongban serve | db | demo | user | org | calendar | audit``.

Commands call the same service functions as the API; they act as the system operator.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from tongban.core import audit, workdays
from tongban.core.config import get_settings
from tongban.core.db import session_scope, upgrade_schema
from tongban.core.errors import DomainError, ValidationFailed
from tongban.core.security import SYSTEM_ACTOR, Role

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    help="通办 Tongban：政务服务能力提升平台的命令行。",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="数据库：建表、迁移、加载参考数据。", no_args_is_help=True)
demo_app = typer.Typer(help="演示数据（巴中市）。", no_args_is_help=True)
user_app = typer.Typer(help="用户与角色。", no_args_is_help=True)
org_app = typer.Typer(help="组织机构与考核分组。", no_args_is_help=True)
cohort_app = typer.Typer(help="考核分组：同组内相互排名的评价对象。", no_args_is_help=True)
calendar_app = typer.Typer(help="工作日历：法定节假日与调休。", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志。", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(user_app, name="user")
app.add_typer(org_app, name="org")
org_app.add_typer(cohort_app, name="cohort")
app.add_typer(calendar_app, name="calendar")
app.add_typer(audit_app, name="audit")

JsonOption = Annotated[bool, typer.Option("--json", help="以 JSON 输出，便于脚本处理")]


@contextmanager
def _service_call() -> Iterator[Session]:
    """A committed session; domain errors become a Chinese message and exit code 1."""
    try:
        with session_scope() as db:
            yield db
    except ValidationFailed as exc:
        err_console.print(f"[red]错误：{exc.summary}[/red]")
        for error in exc.errors:
            err_console.print(f"  - {error}")
        raise typer.Exit(1) from exc
    except DomainError as exc:
        err_console.print(f"[red]错误：{exc.message}[/red]")
        raise typer.Exit(1) from exc


def _emit(as_json: bool, payload: Any, human: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str, indent=2) + "\n")
    else:
        human()


# ---------------------------------------------------------------- serve


@app.command(help="启动网页与 API 服务（默认 http://127.0.0.1:8000）。")
def serve(
    host: Annotated[str | None, typer.Option(help="监听地址")] = None,
    port: Annotated[int | None, typer.Option(help="端口")] = None,
    reload: Annotated[bool, typer.Option(help="代码变更时自动重启（开发用）")] = False,
) -> None:
    import uvicorn

    from tongban.app import ProductionNotReady, check_production_ready

    settings = get_settings()
    try:
        check_production_ready()
    except ProductionNotReady as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    uvicorn.run(
        "tongban.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        reload=reload,
        proxy_headers=True,
    )


# ---------------------------------------------------------------- db


@db_app.command(
    "upgrade", help="迁移数据库到最新版本并加载参考数据（区划、全省21市州分组）。可重复执行。"
)
def db_upgrade(as_json: JsonOption = False) -> None:
    upgrade_schema()
    from tongban.org import service as org_service

    with _service_call() as db:
        loaded = org_service.load_reference_divisions(db)
    from tongban.core.db import schema_revision

    revision = schema_revision()
    _emit(
        as_json,
        {"revision": revision, "created": loaded.created, "updated": loaded.updated,
         "unchanged": loaded.unchanged},
        lambda: console.print(
            f"数据库已是最新版本 {revision}；区划参考数据：新增 {loaded.created}，"
            f"更新 {loaded.updated}，未变 {loaded.unchanged}"
        ),
    )


# ---------------------------------------------------------------- demo


@demo_app.command(
    "load", help="加载巴中市演示数据（功能区、市级部门、考核分组、演示账号）。可重复执行。"
)
def demo_load(as_json: JsonOption = False) -> None:
    from tongban.demo.city import DEMO_PASSWORD, load_demo

    with _service_call() as db:
        summary = load_demo(db)

    def human() -> None:
        console.print(
            f"演示数据已就绪：新增组织 {summary.created_orgs}，分组 {summary.created_cohorts}，"
            f"账号 {summary.created_users}"
        )
        table = Table(title=f"演示账号（密码均为 {DEMO_PASSWORD}）")
        for column in ("用户名", "角色", "姓名"):
            table.add_column(column)
        for user in summary.logins:
            table.add_row(user.username, user.role.label, user.display_name)
        console.print(table)

    _emit(
        as_json,
        {"created_orgs": summary.created_orgs, "created_cohorts": summary.created_cohorts,
         "created_users": summary.created_users,
         "logins": [{"username": u.username, "role": u.role.value} for u in summary.logins]},
        human,
    )


# ---------------------------------------------------------------- users


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

    with _service_call() as db:
        org_obj = org_service.resolve_org(db, ref=org) if org else None
        user = org_service.create_user(
            db, actor=SYSTEM_ACTOR, username=username, password=password, role=role,
            org=org_obj, display_name=name,
        )
        console.print(f"已新建用户 {user.username}（{role.label}）")


# ---------------------------------------------------------------- cohorts


@cohort_app.command("create", help="新建考核分组：同组内的评价对象相互排名。")
def cohort_create(
    code: Annotated[str, typer.Argument(help="分组代码，如 bz-counties")],
    name: Annotated[str, typer.Option(help="分组名称")],
    member: Annotated[list[str], typer.Option(help="成员（代码或名称，可重复）")],
    description: Annotated[str, typer.Option(help="说明")] = "",
    as_json: JsonOption = False,
) -> None:
    from tongban.org import service as org_service

    with _service_call() as db:
        members = [org_service.resolve_org(db, ref=m) for m in member]
        cohort = org_service.create_cohort(
            db, actor=SYSTEM_ACTOR, code=code, name=name, members=members,
            description=description,
        )
        payload = {"code": cohort.code, "name": cohort.name,
                   "members": [o.code for o in members]}
    _emit(as_json, payload,
          lambda: console.print(f"已新建考核分组 {code}「{name}」，{len(members)} 个成员"))


# ---------------------------------------------------------------- calendar


@calendar_app.command(
    "import",
    help="导入一年的放假通知：CSV 两列 date,kind（holiday/workday）。全部通过才导入。",
)
def calendar_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV 文件")],
) -> None:
    with _service_call() as db:
        changed, unchanged = workdays.import_overrides(
            db, actor=SYSTEM_ACTOR, content=file.read_text(encoding="utf-8-sig"),
            filename=file.name,
        )
    console.print(f"导入完成：{changed} 天有变更，{unchanged} 天与已有设定相同")


@calendar_app.command("add-workdays", help="从某日起第 N 个工作日（从次日起算）。")
def calendar_add_workdays(
    start: Annotated[str, typer.Argument(help="起始日期 YYYY-MM-DD")],
    n: Annotated[int, typer.Argument(help="工作日数")],
) -> None:
    try:
        day = date.fromisoformat(start)
    except ValueError as exc:
        err_console.print(f"[red]错误：日期「{start}」不是 YYYY-MM-DD 格式[/red]")
        raise typer.Exit(2) from exc
    with _service_call() as db:
        result = workdays.add_workdays(day, n, db=db)
    sys.stdout.write(result.isoformat() + "\n")


# ---------------------------------------------------------------- audit


@audit_app.command("verify", help="校验审计日志的哈希链；报告第一处断开。")
def audit_verify(as_json: JsonOption = False) -> None:
    with _service_call() as db:
        report = audit.verify(db)
    brk = report.first_break
    _emit(
        as_json,
        {"ok": report.ok, "checked": report.checked,
         "first_broken_id": brk.entry_id if brk else None,
         "reason": brk.reason if brk else None},
        lambda: console.print(
            f"审计日志完整：已校验 {report.checked} 条记录" if brk is None
            else f"[red]审计日志在第 {brk.entry_id} 号记录处断开：{brk.reason}[/red]"
        ),
    )
    if brk is not None:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
