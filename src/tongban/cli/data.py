"""``tongban data``: 数据开放共享 — the catalog, deliveries and their checks, quality, the cascade."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tongban.cli.options import JsonOption
from tongban.cli.output import console, emit, err_console
from tongban.cli.session import json_row_errors, refusals, service_call
from tongban.core.db import session_scope
from tongban.core.security import SYSTEM_ACTOR

data_app = typer.Typer(help="数据开放共享：数据资源目录、数据交付与质量检查、向省平台级联。",
                       no_args_is_help=True)
catalog_app = typer.Typer(help="数据资源目录。", no_args_is_help=True)
data_app.add_typer(catalog_app, name="catalog")


@catalog_app.command("import", help="导入目录（数据集编码、数据集名称、提供部门、更新频率、共享类型、"
                                    "开放类型、重点数据）及字段（数据集编码、字段名、类型、必填、格式、主键），"
                                    "CSV 或 XLSX，全部通过才导入。")
def catalog_import(
    catalog: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="目录文件")],
    fields: Annotated[Path, typer.Option("--fields", exists=True, dir_okay=False,
                                         help="字段文件")],
    as_json: JsonOption = False,
) -> None:
    from tongban.datasharing import service

    with service_call() as db, json_row_errors(as_json, {"added": 0, "changed": 0,
                                                         "unchanged": 0}):
        done = service.import_catalog(db, actor=SYSTEM_ACTOR, catalog=catalog, fields=fields)
    emit(as_json, done.as_dict(), lambda: console.print(
        f"已导入：新增 {done.added} 个数据集，更新 {done.changed} 个，未变 {done.unchanged} 个"))


@catalog_app.command("export", help="导出目录和字段（两个 CSV，可直接再导入）。")
def catalog_export(
    out: Annotated[Path, typer.Option(help="输出目录")] = Path("."),
    as_json: JsonOption = False,
) -> None:
    import csv

    from tongban.datasharing import service

    with service_call() as db:
        catalog, fields = service.catalog_rows(db, actor=SYSTEM_ACTOR)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"catalog": out / "数据资源目录.csv", "fields": out / "数据资源字段.csv"}
    for key, rows in (("catalog", catalog), ("fields", fields)):
        with paths[key].open("w", encoding="utf-8-sig", newline="") as handle:
            csv.writer(handle).writerows(rows)
    emit(as_json, {k: str(v) for k, v in paths.items()} | {"datasets": len(catalog) - 1},
         lambda: console.print(f"已导出 {len(catalog) - 1} 个数据集到 {out}"))


def _day(at: str) -> date | None:
    try:
        return date.fromisoformat(at) if at else None
    except ValueError:
        err_console.print("[red]错误：--at 应为 YYYY-MM-DD[/red]")
        raise typer.Exit(1) from None


def _checked(as_json: bool,
             check: Callable[[Callable[[int], None]], dict[str, Any]]) -> dict[str, Any]:
    """Run a delivery's ``check`` with a count of the rows checked on the terminal; what it
    answers (row errors as JSON with ``--json``)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err_console,
                  transient=True, disable=as_json) as bar:
        task = bar.add_task("检查中…")
        with refusals(), json_row_errors(as_json, {"rows": 0}):
            return check(lambda n: bar.update(task, description=f"已检查 {n:,} 行"))


def _said(payload: dict[str, Any]) -> Callable[[], None]:
    return lambda: console.print(
        f"{payload['dataset']}：{payload['rows']} 行，无效 {payload['invalid_cells']} 格，"
        f"必填为空 {payload['missing_required']} 格，主键重复 {payload['duplicate_keys']} 行，"
        f"得分 {payload['score']}")


@data_app.command("deliver", help="交付一次数据（CSV 或 XLSX），逐格检查后记录。")
def deliver(
    dataset: Annotated[str, typer.Argument(help="数据集编码")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="数据文件")],
    at: Annotated[str, typer.Option("--at", help="交付日期 YYYY-MM-DD（默认今天）")] = "",
    as_json: JsonOption = False,
) -> None:
    from tongban.datasharing import service

    on = _day(at)

    def check(progress: Callable[[int], None]) -> dict[str, Any]:
        with session_scope() as db:
            return service.deliver(db, actor=SYSTEM_ACTOR, dataset_code=dataset, source=file,
                                   on=on, progress=progress).as_dict()

    payload = _checked(as_json, check)
    emit(as_json, payload, _said(payload))


@data_app.command("pull", help="从数据集登记的拉取地址（文件的 http(s) 地址，或部门数据库的表）拉取一次"
                               "并检查；--due 拉取本周期还没有交付的全部数据集。")
def pull(
    dataset: Annotated[str, typer.Argument(help="数据集编码（与 --due 二选一）")] = "",
    due: Annotated[bool, typer.Option("--due", help="拉取全部到期的数据集")] = False,
    at: Annotated[str, typer.Option("--at", help="交付日期 YYYY-MM-DD（默认今天）")] = "",
    as_json: JsonOption = False,
) -> None:
    from tongban.core.workdays import local_today
    from tongban.datasharing import service

    on = _day(at)
    if due == bool(dataset):
        err_console.print("[red]错误：请给出一个数据集编码，或使用 --due[/red]")
        raise typer.Exit(2)
    if due:
        report = service.pull_due(as_of=on or local_today())
        emit(as_json, report.as_dict(), lambda: console.print(
            f"已拉取 {len(report.pulled)} 个数据集，失败 {len(report.failed)} 个"
            + "".join(f"\n  {code}：{reason}" for code, reason in report.failed.items())))
        if report.failed:
            raise typer.Exit(1)
        return

    def check(progress: Callable[[int], None]) -> dict[str, Any]:
        with session_scope() as db:
            return service.pull(db, actor=SYSTEM_ACTOR, dataset_code=dataset, on=on,
                                progress=progress).as_dict()

    payload = _checked(as_json, check)
    emit(as_json, payload, _said(payload))


@data_app.command("quality", help="各部门（或一个部门）的数据质量、归集率、共享率、开放率。")
def quality(
    department: Annotated[str, typer.Option(help="部门名称或代码")] = "",
    period: Annotated[str, typer.Option(help="月份 YYYY-MM（默认本月，截至今天）")] = "",
    as_json: JsonOption = False,
) -> None:
    from tongban.core.periods import check_period, month_of
    from tongban.core.workdays import local_today
    from tongban.datasharing import service
    from tongban.org import service as org_service

    with service_call() as db:
        today = local_today()
        month = check_period(period) if period else month_of(today)
        scope = org_service.resolve_org(db, ref=department) if department else None
        found = service.department_quality(db, actor=SYSTEM_ACTOR, department=scope,
                                           as_of=service.month_end(month, today=today))
        rows = [{"department": q.department.name, **q.counts(),
                 **{f"{k}_rate": v for k, v in service.rates(q.counts()).items()},
                 "datasets": [d.as_dict() for d in q.datasets]} for q in found]

    def human() -> None:
        table = Table("部门", "数据集", "归集率", "共享率", "开放率", "质量", title=f"{month}")
        for r in rows:
            table.add_row(*(str(r[k]) for k in ("department", "should_collect", "collect_rate",
                                                "share_rate", "open_rate", "data_quality")))
        console.print(table)

    emit(as_json, {"period": month, "items": rows}, human)


@data_app.command("cascade", help="各数据集向省平台级联的状态（或一个数据集的）。")
def cascade(
    dataset: Annotated[str, typer.Option(help="数据集编码")] = "",
    as_json: JsonOption = False,
) -> None:
    from tongban.datasharing import service

    with service_call() as db:
        rows = [v.as_dict() for v in service.cascade_of(db, actor=SYSTEM_ACTOR,
                                                         dataset_code=dataset)]

    def human() -> None:
        table = Table("数据集", "部门", "已注册", "最近成功", "连续失败", "原因")
        for r in rows:
            table.add_row(str(r["dataset"]), str(r["department"]), "是" if r["registered"] else "否",
                          str(r["last_success_at"] or "—"), str(r["failures"]),
                          str(r["last_error"])[:40])
        console.print(table)

    emit(as_json, {"items": rows, "platform": service.platform_url()}, human)


@data_app.command("use", help="导入省平台的调用日志（数据集编码、期间、调用次数、下载次数）。")
def use(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV 或 XLSX")],
    as_json: JsonOption = False,
) -> None:
    from tongban.datasharing import service

    with service_call() as db, json_row_errors(as_json, {"added": 0, "changed": 0,
                                                         "unchanged": 0}):
        done = service.import_use(db, actor=SYSTEM_ACTOR, source=file)
    emit(as_json, done.as_dict(), lambda: console.print(
        f"已导入：新增 {done.added} 条，更新 {done.changed} 条，未变 {done.unchanged} 条"))
