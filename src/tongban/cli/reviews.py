"""``tongban reviews``: imports, 差评 cases, metrics, rating codes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tongban.cli.options import (
    JsonOption,
    OrgOption,
    PageOption,
    PageSizeOption,
    PeriodOption,
    SearchOption,
    list_params,
)
from tongban.cli.output import console, emit, emit_page, err_console
from tongban.cli.session import json_row_errors, refusals, service_call
from tongban.core.numbers import percent
from tongban.core.security import SYSTEM_ACTOR
from tongban.core.workdays import local_today

reviews_app = typer.Typer(help="好差评：评价导入、差评工单、评价指标。", no_args_is_help=True)


@reviews_app.command(
    "import", help="导入省平台好差评数据（或 period,org,cases_handled 办件量；"
                   "或 org,case_no,completed_at 办件明细）。默认全部通过才导入。"
)
def reviews_import(
    file: Annotated[Path, typer.Argument(
        exists=True, dir_okay=False,
        help="CSV、XLSX 或 JSON 行（.jsonl）文件；省平台好差评交换字段（projectNo、pf…）自动识别")],
    skip_invalid: Annotated[Path | None, typer.Option(
        "--skip-invalid", help="导入有效行，把无效行及原因写入此 CSV")] = None,
    as_json: JsonOption = False,
) -> None:
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from tongban.core.tabular import open_table
    from tongban.reviews import service as reviews
    from tongban.reviews.service import checks

    empty = {"imported": 0, "skipped": 0}
    with refusals(), json_row_errors(as_json, empty):
        head = open_table(file, aliases={**checks.ALIASES, **reviews.HANDLED_ALIASES})
    if "completed_at" in head.header:
        with service_call() as db, json_row_errors(as_json, empty):
            handled = reviews.import_handled_cases(db, actor=SYSTEM_ACTOR, rows=head.rows,
                                                   filename=file.name)
        emit(as_json, handled.as_dict(), lambda: console.print(
            f"已导入办件明细 {handled.imported} 件，跳过已有 {handled.skipped} 件"))
        return
    if "cases_handled" in head.header:
        with service_call() as db, json_row_errors(as_json, empty):
            changed = reviews.record_cases_handled(db, actor=SYSTEM_ACTOR, rows=head.rows,
                                                   filename=file.name)
        emit(as_json, {"imported": changed, "skipped": 0, "errors": []},
             lambda: console.print(f"已导入办件量：{changed} 项有变更"))
        return
    rejects = reviews.open_rejects(skip_invalid) if skip_invalid else None
    imported = False
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err_console,
                      disable=as_json) as bar, service_call() as db:
            task = bar.add_task("导入中…", total=None)
            with json_row_errors(as_json, empty):
                result = reviews.import_reviews(
                    db, actor=SYSTEM_ACTOR, source=file, rejects=rejects, rejects_file=skip_invalid,
                    progress=lambda n: bar.update(task, description=f"已处理 {n:,} 行"))
        imported = True
    finally:
        if rejects is not None and skip_invalid is not None:
            rejects.close()
            if not imported:  # nothing went in: no half-written rejects file to mislead
                skip_invalid.unlink(missing_ok=True)
    rejected = f"；{result.error_count} 处错误的行已写入 {skip_invalid}" if result.error_count else ""
    emit(as_json, {"imported": result.imported, "skipped": result.skipped,
                   **result.errors.as_dict()},
         lambda: console.print(
             f"已导入 {result.imported} 条评价，跳过已有 {result.skipped} 条，新开差评工单 "
             f"{result.cases_opened} 件{rejected}"))


@reviews_app.command(
    "map-dept", help="登记部门统一社会信用代码（好差评交换记录的 deptCode）对应的单位，此后导入即按此归属。")
def reviews_map_dept(
    code: Annotated[str, typer.Argument(help="18位统一社会信用代码")],
    org: Annotated[str, typer.Argument(help="单位名称或代码")],
    as_json: JsonOption = False,
) -> None:
    from tongban.org import service as org_service
    from tongban.reviews import service as reviews

    with service_call() as db:
        target = org_service.resolve_org(db, ref=org)
        mapped = reviews.map_dept_code(db, actor=SYSTEM_ACTOR, code=code, org=target)
        payload = {"code": mapped.value, "org_code": target.code, "org_name": target.name}
    emit(as_json, payload,
         lambda: console.print(f"部门代码 {payload['code']} 已对应到 {payload['org_name']}"))


@reviews_app.command("metrics", help="一个单位某月的评价指标，每个比率带分子和分母。")
def reviews_metrics(org: OrgOption, period: PeriodOption, as_json: JsonOption = False) -> None:
    from tongban.org import service as org_service
    from tongban.reviews import service as reviews

    with service_call() as db:
        target = org_service.resolve_org(db, ref=org)
        payload = reviews.metrics(db, actor=SYSTEM_ACTOR, org=target, period=period)

    def human() -> None:
        labels = {"good_rate": "好评率", "bad_rate": "差评率", "satisfaction": "满意度指数",
                  "review_rate": "主动评价率", "ontime_rectification_rate": "差评按期整改率",
                  "named_callback_rate": "实名差评回访率"}
        console.print(f"{target.name} {period}：评价 {payload['reviews']} 条")
        for key, label in labels.items():
            rate = payload[key]
            value = "—" if rate["value"] is None else percent(rate["value"], 2)
            console.print(f"  {label} {value}（{rate['numerator']:g}/{rate['denominator']:g}）")

    emit(as_json, payload, human)


@reviews_app.command("cases", help="差评工单，逾期的在前。")
def reviews_cases(
    org: OrgOption,
    state: Annotated[str | None, typer.Option(help="状态，如 received、rectifying、closed")] = None,
    search: SearchOption = "",
    page: PageOption = 1,
    page_size: PageSizeOption = None,
    as_json: JsonOption = False,
) -> None:
    from tongban.org import service as org_service
    from tongban.reviews import service as reviews
    from tongban.reviews.enums import CaseState

    try:
        wanted = CaseState(state) if state else None
    except ValueError as exc:
        err_console.print(f"[red]错误：未知状态「{state}」[/red]")
        raise typer.Exit(2) from exc
    with service_call() as db:
        target = org_service.resolve_org(db, ref=org)
        today = local_today()
        found = reviews.list_cases(db, actor=SYSTEM_ACTOR, org=target, state=wanted,
                                   params=list_params(page, page_size, search)).map(
            lambda c: {"id": c.id, "review_source_id": c.review.source_id, "state": c.state,
                       "callback_due": c.callback_due.isoformat(),
                       "rectify_due": c.rectify_due.isoformat(),
                       "overdue": reviews.is_overdue(c, as_of=today)})

    def human() -> None:
        for r in found.items:
            console.print(f"#{r['id']} {r['state']} 回访期限 {r['callback_due']} 整改期限 "
                          f"{r['rectify_due']}" + ("（逾期）" if r["overdue"] else ""))

    emit_page(as_json, found, human)


@reviews_app.command("code", help="生成评价链接和二维码（张贴于窗口、印在回执上或随短信发送）。")
def reviews_code(
    org: OrgOption,
    item: Annotated[str, typer.Option(help="事项编码（选填）")] = "",
    case: Annotated[str, typer.Option(help="办件编号（选填）")] = "",
    channel: Annotated[str, typer.Option(
        help="渠道：window、kiosk、website、app、miniprogram、sms")] = "window",
    out: Annotated[Path | None, typer.Option(help="把二维码写入此文件（.svg 或 .png）")] = None,
    as_json: JsonOption = False,
) -> None:
    from tongban.org import service as org_service
    from tongban.reviews import service as reviews
    from tongban.reviews.enums import Channel

    if channel not in Channel.__members__:
        err_console.print(f"[red]错误：未知渠道「{channel}」[/red]")
        raise typer.Exit(2)
    if out is not None and out.suffix.lower() not in (".svg", ".png"):
        err_console.print("[red]错误：二维码文件须为 .svg 或 .png[/red]")
        raise typer.Exit(2)
    with service_call() as db:
        code = reviews.rating_code(db, actor=SYSTEM_ACTOR, org=org_service.resolve_org(db, ref=org),
                                   item_code=item, case_no=case, channel=Channel(channel))
    if out is not None:
        if out.suffix.lower() == ".svg":
            out.write_text(code.svg(), encoding="utf-8")
        else:
            out.write_bytes(code.png())
    emit(as_json, {"org_code": code.org.code, "org_name": code.org.name, "link": code.link,
                   "file": str(out) if out else None},
         lambda: console.print(f"{code.org.name} 评价链接：{code.link}"
                               + (f"\n二维码已写入 {out}" if out else ""), soft_wrap=True))
