"""Options several command groups share."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from tongban.cli.output import err_console

if TYPE_CHECKING:
    from tongban.core.listing import ListParams

JsonOption = Annotated[bool, typer.Option("--json", help="以 JSON 输出，便于脚本处理")]
CohortOption = Annotated[str, typer.Option("--cohort", help="考核分组代码，如 sichuan-cities")]
PeriodOption = Annotated[str, typer.Option("--period", help="考核期 YYYY-MM")]
OrgOption = Annotated[str, typer.Option("--org", help="单位（代码或名称）")]
PageOption = Annotated[int, typer.Option("--page", help="页码，从 1 起")]
PageSizeOption = Annotated[int | None, typer.Option(
    "--page-size", help="每页条数（默认见 TONGBAN_LIST_PAGE_SIZE，最多 TONGBAN_LIST_PAGE_SIZE_MAX）")]
SearchOption = Annotated[str, typer.Option("--search", help="检索词")]


def date_option(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        err_console.print(f"[red]错误：{what}「{value}」不是 YYYY-MM-DD 格式[/red]")
        raise typer.Exit(2) from exc


def list_params(page: int, page_size: int | None, search: str = "") -> ListParams:
    """The page that --page, --page-size and --search ask for (inside ``service_call``, which
    prints a refusal)."""
    from tongban.core.config import get_settings
    from tongban.core.listing import ListParams

    return ListParams(page=page, page_size=page_size or get_settings().list_page_size, q=search)
