"""Options several command groups share."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from tongban.cli.output import err_console

JsonOption = Annotated[bool, typer.Option("--json", help="以 JSON 输出，便于脚本处理")]
CohortOption = Annotated[str, typer.Option("--cohort", help="考核分组代码，如 sichuan-cities")]
PeriodOption = Annotated[str, typer.Option("--period", help="考核期 YYYY-MM")]
OrgOption = Annotated[str, typer.Option("--org", help="单位（代码或名称）")]


def date_option(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        err_console.print(f"[red]错误：{what}「{value}」不是 YYYY-MM-DD 格式[/red]")
        raise typer.Exit(2) from exc
