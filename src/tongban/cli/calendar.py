"""``tongban calendar``: the working-day calendar."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from tongban.cli.output import console, err_console
from tongban.cli.session import service_call
from tongban.core import workdays
from tongban.core.security import SYSTEM_ACTOR

calendar_app = typer.Typer(help="工作日历：法定节假日与调休。", no_args_is_help=True)


@calendar_app.command(
    "import",
    help="导入一年的放假通知：CSV 或 XLSX，两列 date,kind（holiday/workday）。全部通过才导入。",
)
def calendar_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV 或 XLSX 文件")],
) -> None:
    with service_call() as db:
        changed, unchanged = workdays.import_overrides(db, actor=SYSTEM_ACTOR, source=file)
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
    with service_call() as db:
        result = workdays.add_workdays(day, n, db=db)
    sys.stdout.write(result.isoformat() + "\n")
