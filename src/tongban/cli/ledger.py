"""``tongban ledger``: 专项台账 — types, items, entries, case counts, status; ``tongban supervise``:
互联网+监管 indicators against target, worst first."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tongban.cli.options import JsonOption
from tongban.cli.output import console, emit
from tongban.cli.session import json_row_errors, service_call
from tongban.core.security import SYSTEM_ACTOR

ledger_app = typer.Typer(help="专项台账：乡镇事权承接、天府通办特色专区、互联网+监管、季调度表态。",
                         no_args_is_help=True)
_COUNTS = {"added": 0, "changed": 0, "unchanged": 0}
FileArgument = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV 或 XLSX 文件")]
TypeArgument = Annotated[str, typer.Argument(help="台账类型代码，如 township-powers")]


def _counts(as_json: bool, what: str, done: dict[str, int]) -> None:
    emit(as_json, done, lambda: console.print(
        f"已导入{what}：新增 {done['added']}，更新 {done['changed']}，未变 {done['unchanged']}"))


@ledger_app.command("load", help="加载台账类型（YAML）；同一版本再次加载不变，内容变了须换版本号。")
def load(path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="YAML 文件")],
         as_json: JsonOption = False) -> None:
    from tongban.ledger import service

    with service_call() as db:
        done = service.load_type(db, actor=SYSTEM_ACTOR, text=path.read_text(encoding="utf-8"),
                                 filename=path.name)
    emit(as_json, done.as_dict(), lambda: console.print(
        f"{'已加载' if done.new else '未变'}：{done.name}（{done.code}）版本 {done.version}"))


@ledger_app.command("items", help="导入台账事项（事项编码、事项名称、类别；可选 责任单位、牵头部门、"
                                  "目标值、完成时限），全部通过才导入。")
def items(type_code: TypeArgument, path: FileArgument, as_json: JsonOption = False) -> None:
    from tongban.ledger import service

    with service_call() as db, json_row_errors(as_json, _COUNTS):
        done = service.import_items(db, actor=SYSTEM_ACTOR, type_code=type_code, source=path)
    _counts(as_json, "事项", done.as_dict())


@ledger_app.command("import", help="导入台账条目（单位、事项编码、状态、原因，及类型的字段如 承接主体、"
                                   "承办人员、办理流程、责任人），全部通过才导入，重复导入不变。")
def import_entries(type_code: TypeArgument, path: FileArgument,
                   as_json: JsonOption = False) -> None:
    from tongban.ledger import service

    with service_call() as db, json_row_errors(as_json, _COUNTS):
        done = service.import_entries(db, actor=SYSTEM_ACTOR, type_code=type_code, source=path)
    _counts(as_json, "条目", done.as_dict())


@ledger_app.command("cases", help="导入某月办件量（单位、事项编码、办件量），用于落地率。")
def cases(type_code: TypeArgument, path: FileArgument,
          period: Annotated[str, typer.Option("--period", help="月份 YYYY-MM")],
          as_json: JsonOption = False) -> None:
    from tongban.ledger import service
    from tongban.ledger.enums import FigureKind

    with service_call() as db, json_row_errors(as_json, _COUNTS):
        done = service.import_figures(db, actor=SYSTEM_ACTOR, type_code=type_code,
                                      kind=FigureKind.cases, period=period, source=path)
    _counts(as_json, "办件量", done.as_dict())


@ledger_app.command("values", help="导入某月互联网+监管指标值（单位、事项编码、数值）。")
def values(path: FileArgument,
           period: Annotated[str, typer.Option("--period", help="月份 YYYY-MM")],
           type_code: Annotated[str, typer.Option("--type", help="台账类型")] =
           "internet-supervision",
           as_json: JsonOption = False) -> None:
    from tongban.ledger import service
    from tongban.ledger.enums import FigureKind

    with service_call() as db, json_row_errors(as_json, _COUNTS):
        done = service.import_figures(db, actor=SYSTEM_ACTOR, type_code=type_code,
                                      kind=FigureKind.amount, period=period, source=path)
    _counts(as_json, "指标值", done.as_dict())


@ledger_app.command("lists", help="导入各单位权责清单编制情况（单位、权责清单 是/否、编制日期）。")
def lists(type_code: TypeArgument, path: FileArgument, as_json: JsonOption = False) -> None:
    from tongban.ledger import service

    with service_call() as db, json_row_errors(as_json, _COUNTS):
        done = service.import_lists(db, actor=SYSTEM_ACTOR, type_code=type_code, source=path)
    _counts(as_json, "权责清单编制情况", done.as_dict())


@ledger_app.command("exams", help="导入执法资格考试结果（单位、姓名、考试日期、考试结果 合格/不合格）。")
def exams(type_code: TypeArgument, path: FileArgument, as_json: JsonOption = False) -> None:
    from tongban.ledger import service

    with service_call() as db, json_row_errors(as_json, _COUNTS):
        done = service.import_exams(db, actor=SYSTEM_ACTOR, type_code=type_code, source=path)
    _counts(as_json, "考试结果", done.as_dict())


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


@ledger_app.command("status", help="各单位的完成情况：总数、已完成、不适用、未完成、完成率、落地数、落地率。")
def status(type_code: TypeArgument,
           org: Annotated[str, typer.Option("--org", help="单位（名称或代码）；县区则列其乡镇")] = "",
           period: Annotated[str, typer.Option("--period", help="落地统计的月份 YYYY-MM（默认上月）")] = "",
           as_json: JsonOption = False) -> None:
    from tongban.ledger import service
    from tongban.org import service as org_service

    with service_call() as db:
        scope = org_service.resolve_org(db, ref=org) if org else None
        spec, rows = service.status(db, actor=SYSTEM_ACTOR, type_code=type_code, org=scope,
                                    period=period or None)
        found = service.status_dicts(rows)

    def human() -> None:
        table = Table(title=spec.name)
        for column in ("单位", "总数", "已完成", "不适用", "未完成", "完成率", "落地", "落地率"):
            table.add_column(column)
        for row in found:
            table.add_row(str(row["org"]), *(str(row[k]) for k in (
                "total", "done", "not_applicable", "open")), _percent(row["rate"]),  # type: ignore[arg-type]
                str(row["landed"]), _percent(row["landing_rate"]))  # type: ignore[arg-type]
        console.print(table)

    emit(as_json, {"items": found}, human)


@ledger_app.command("memo", help="季调度数据备忘：某季度的表态承诺对照下一季度成绩单的指标。")
def memo(quarter: Annotated[str, typer.Option("--quarter", help="表态的季度，如 2026Q1")],
         cohort: Annotated[str, typer.Option("--cohort", help="考核分组")] = "bz-counties",
         as_json: JsonOption = False) -> None:
    from tongban.ledger import service

    with service_call() as db:
        found = [c.as_dict() for c in service.memo(db, actor=SYSTEM_ACTOR, quarter=quarter,
                                                   cohort_code=cohort)]

    def human() -> None:
        table = Table(title=f"{quarter} 表态承诺兑现情况")
        for column in ("单位", "承诺", "状态", "指标", "目标", "实际", "达成"):
            table.add_column(column)
        for row in found:
            met = {True: "是", False: "否", None: "—"}[row["met"]]  # type: ignore[index]
            table.add_row(*(str(row[k]) for k in ("org", "commitment", "status", "metric",
                                                  "target", "shown")), met)
        console.print(table)

    emit(as_json, {"quarter": quarter, "items": found}, human)


def supervise(indicator: Annotated[str, typer.Option("--indicator", help="指标编码")],
              period: Annotated[str, typer.Option("--period", help="月份 YYYY-MM")],
              as_json: JsonOption = False) -> None:
    """互联网+监管：各部门某指标某月的数值对照目标，差的在前。"""
    from tongban.ledger import service

    with service_call() as db:
        item, rows = service.supervise(db, actor=SYSTEM_ACTOR, code=indicator, period=period)
        found = [r.as_dict() for r in rows]
        head = {"indicator": item.code, "name": item.name, "period": period,
                "lead": item.lead.name if item.lead else None, "target": item.target}

    def human() -> None:
        table = Table(title=f"{item.name}（牵头：{head['lead'] or '—'}，目标 {item.target}）")
        for column in ("单位", "数值", "目标", "达标"):
            table.add_column(column)
        for row in found:
            table.add_row(str(row["org"]), "未报" if row["value"] is None else str(row["value"]),
                          str(row["target"]), "是" if row["met"] else "否")
        console.print(table)

    emit(as_json, {**head, "items": found}, human)
