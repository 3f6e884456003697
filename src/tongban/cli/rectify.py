"""``tongban rectify``: rectification tasks and points at risk."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tongban.cli.options import (
    JsonOption,
    PageOption,
    PageSizeOption,
    SearchOption,
    date_option,
    list_params,
)
from tongban.cli.output import console, emit, emit_page, err_console
from tongban.cli.session import json_row_errors, service_call
from tongban.core.listing import Page
from tongban.core.security import SYSTEM_ACTOR
from tongban.core.workdays import local_today

rectify_app = typer.Typer(help="整改督办：任务、期限、风险分值。", no_args_is_help=True)


@rectify_app.command(
    "import", help="导入省级反馈清单（item_code,item_name,problem,department,due）：每个责任单位一个任务。"
)
def rectify_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV 或 XLSX 文件")],
    penalty_indicator: Annotated[str | None, typer.Option(help="逾期扣分计入的指标代码")] = None,
    points_each: Annotated[float | None, typer.Option(help="每项未整改扣分")] = None,
    cap: Annotated[float | None, typer.Option(help="扣分上限")] = None,
    category: Annotated[str, typer.Option(help="整改类别")] = "异常办事指南",
    issued: Annotated[str | None, typer.Option(help="下发日期 YYYY-MM-DD（默认今天）")] = None,
    as_json: JsonOption = False,
) -> None:
    from tongban.rectification import service as rectification

    with service_call() as db, json_row_errors(as_json, {"tasks": 0, "lines": 0}):
        result = rectification.import_feedback(
            db, actor=SYSTEM_ACTOR, source=file, category=category,
            issued_on=date_option(issued, "下发日期"), penalty_indicator=penalty_indicator,
            points_each=points_each, cap=cap)
    emit(as_json, result.as_dict(), lambda: console.print(
        f"已导入：新建任务 {result.tasks} 个，新增整改项 {result.lines} 项"))


@rectify_app.command("list", help="整改任务，逾期的在前。")
def rectify_list(
    org: Annotated[str | None, typer.Option(help="单位（含下级）")] = None,
    state: Annotated[str | None, typer.Option(
        help="状态：issued/acknowledged/in_progress/submitted/closed/cancelled")] = None,
    as_of: Annotated[str | None, typer.Option(help="以该日判断逾期（默认今天）")] = None,
    search: SearchOption = "",
    page: PageOption = 1,
    page_size: PageSizeOption = None,
    as_json: JsonOption = False,
) -> None:
    from tongban.org import service as org_service
    from tongban.rectification import service as rectification
    from tongban.rectification.enums import TaskState

    day = date_option(as_of, "日期") or local_today()
    try:
        wanted = TaskState(state) if state else None
    except ValueError as exc:
        err_console.print(f"[red]错误：未知状态「{state}」[/red]")
        raise typer.Exit(2) from exc
    with service_call() as db:
        scope = org_service.resolve_org(db, ref=org) if org else None
        found = rectification.list_tasks(
            db, actor=SYSTEM_ACTOR, org=scope, state=wanted, as_of=day,
            params=list_params(page, page_size, search)).map(
            lambda t: {"id": t.id, "title": t.title, "org_code": t.org.code,
                       "org_name": t.org.name, "category": t.category, "state": t.state,
                       "due": t.due_on.isoformat(),
                       "overdue": rectification.is_overdue(t, as_of=day),
                       "open_lines": t.open_lines, "lines": len(t.lines),
                       "points_at_risk": rectification.points_at_risk(t)})

    def human() -> None:
        table = Table(title=f"整改任务（截至 {day}）")
        for column in ("#", "单位", "任务", "状态", "期限", "未完成/总数", "风险分"):
            table.add_column(column)
        for r in found.items:
            table.add_row(str(r["id"]), str(r["org_name"]), str(r["title"]),
                          ("[red]逾期[/red] " if r["overdue"] else "") + TaskState(str(r["state"])).label,
                          str(r["due"]), f"{r['open_lines']}/{r['lines']}", f"{r['points_at_risk']:g}")
        console.print(table)

    emit_page(as_json, found, human)


@rectify_app.command("risk", help="风险分值：各单位若未按期整改将扣多少分、已扣多少分、预计名次。"
                    "--json 输出与 API 相同的 {items, total, page, page_size}。")
def rectify_risk(
    org: Annotated[str | None, typer.Option(help="单位（含下级）")] = None,
    as_of: Annotated[str | None, typer.Option(help="以该日计算（默认今天）")] = None,
    as_json: JsonOption = False,
) -> None:
    from tongban.org import service as org_service
    from tongban.rectification import service as rectification

    with service_call() as db:
        scope = org_service.resolve_org(db, ref=org) if org else None
        rows = [r.as_dict() for r in rectification.risk(
            db, actor=SYSTEM_ACTOR, org=scope, as_of=date_option(as_of, "日期"))]

    def human() -> None:
        if not rows:
            console.print("没有面临扣分风险的整改任务")
        for r in rows:
            deducted = f"（已扣 {r['points_deducted']:g} 分）" if r["points_deducted"] else ""
            if r["statement"]:
                console.print(f"{r['statement']}{deducted}")
            elif r["points_at_risk"]:
                console.print(f"{r['org_name']}：风险 {r['points_at_risk']:g} 分，{r['open_lines']} 项"
                              f"未完成，最近期限 {r['next_due']}{deducted}")
            else:
                console.print(f"{r['org_name']}：暂无扣分风险{deducted}")

    # Whole: at most one row per org in scope (the API pages the same rows).
    emit_page(as_json, Page.whole(rows), human)
