"""``tongban errand``: errands, runners, the grab pool, a grab, and one dispatch on files."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tongban.cli.options import JsonOption, PageOption, PageSizeOption, SearchOption, list_params
from tongban.cli.output import console, emit, emit_page, err_console
from tongban.cli.session import service_call
from tongban.core.errors import DomainError, NotFound
from tongban.core.security import SYSTEM_ACTOR

errand_app = typer.Typer(help="跑团代办：代办、跑手、抢单池、抢单、派单。", no_args_is_help=True)

#: Exit codes of ``grab`` (scripts rely on them).
EXIT_TAKEN, EXIT_NOT_ELIGIBLE, EXIT_UNKNOWN = 3, 4, 1


@errand_app.command("list", help="代办列表（最新在前）。")
def list_errands(
    state: Annotated[str | None, typer.Option("--state", help="状态代码，如 open")] = None,
    page: PageOption = 1, page_size: PageSizeOption = None, search: SearchOption = "",
    as_json: JsonOption = False,
) -> None:
    from tongban.errand import service
    from tongban.errand.enums import ErrandState
    from tongban.errand.schemas import errand_read

    if state is not None and state not in ErrandState.__members__:
        err_console.print(f"[red]错误：没有状态「{state}」；可选：{'、'.join(ErrandState)}[/red]")
        raise typer.Exit(2)
    with service_call() as db:
        found = service.list_errands(db, actor=SYSTEM_ACTOR,
                                     state=ErrandState(state) if state else None,
                                     params=list_params(page, page_size, search))
        rows = found.map(lambda e: errand_read(e).model_dump(mode="json"))

    def human() -> None:
        table = Table(title=f"代办（共 {found.total} 件）")
        for column in ("编号", "事项", "状态", "区域", "联系电话", "跑手"):
            table.add_column(column)
        for row in rows.items:
            table.add_row(str(row["id"]), row["item_name"], row["state_label"], row["zone_name"],
                          row["phone"], str(row["runner_id"] or ""))
        console.print(table)

    emit_page(as_json, rows, human)


@errand_app.command("runners", help="跑手列表。")
def list_runners(page: PageOption = 1, page_size: PageSizeOption = None,
                 as_json: JsonOption = False) -> None:
    from tongban.errand import service
    from tongban.errand.schemas import runner_read

    with service_call() as db:
        found = service.list_runners(db, actor=SYSTEM_ACTOR,
                                     params=list_params(page, page_size))
        rows = found.map(lambda r: runner_read(r).model_dump(mode="json"))

    def human() -> None:
        table = Table(title=f"跑手（共 {found.total} 人）")
        for column in ("编号", "姓名", "在岗", "承接/上限", "评分"):
            table.add_column(column)
        for row in rows.items:
            table.add_row(str(row["id"]), row["name"], "是" if row["on_duty"] else "否",
                          f"{row['active_count']}/{row['capacity']}", str(row["rating"]))
        console.print(table)

    emit_page(as_json, rows, human)


@errand_app.command("pool", help="可抢该代办的跑手，最近的在前。")
def pool(errand_id: Annotated[int, typer.Argument(min=1)], as_json: JsonOption = False) -> None:
    from tongban.errand import service
    from tongban.errand.schemas import runner_read

    with service_call() as db:
        errand = service.get_errand(db, actor=SYSTEM_ACTOR, errand_id=errand_id)
        found = service.eligible_runners(db, actor=SYSTEM_ACTOR, errand=errand)
        items = [{**runner_read(r).model_dump(mode="json"), "distance_km": round(km, 3)}
                 for r, km in found]

    def human() -> None:
        table = Table(title=f"可抢代办 #{errand_id} 的跑手（{len(items)} 人）")
        for column in ("编号", "姓名", "距离(公里)", "承接/上限"):
            table.add_column(column)
        for row in items:
            table.add_row(str(row["id"]), row["name"], f"{row['distance_km']:.2f}",
                          f"{row['active_count']}/{row['capacity']}")
        console.print(table)

    emit(as_json, {"items": items, "total": len(items)}, human)


@errand_app.command(
    "grab", help="以跑手身份抢单：0 抢到（重试同样），3 已被抢，4 不符合条件，1 代办或跑手不存在。")
def grab(errand_id: Annotated[int, typer.Argument(min=1)],
         runner: Annotated[int, typer.Option("--runner", min=1, help="跑手编号")],
         as_json: JsonOption = False) -> None:
    from tongban.core.db import session_scope
    from tongban.errand import service

    code, payload = 0, {}
    try:
        with session_scope() as db:
            won = service.grab(db, actor=SYSTEM_ACTOR, errand_id=errand_id, runner_id=runner)
            payload = {"outcome": "retry" if won.retry else "won", "errand_id": errand_id,
                       "runner_id": runner, "distance_km": round(won.distance_km, 3),
                       "state": won.errand.state}
    except service.Taken as exc:
        code, payload = EXIT_TAKEN, {"outcome": "taken", "detail": exc.message}
    except service.NotEligible as exc:
        code, payload = EXIT_NOT_ELIGIBLE, {"outcome": "not_eligible", "detail": exc.message}
    except NotFound as exc:
        code, payload = EXIT_UNKNOWN, {"outcome": "unknown", "detail": exc.message}
    except DomainError as exc:
        code, payload = EXIT_UNKNOWN, {"outcome": "refused", "detail": exc.message}
    if code:
        payload = {"errand_id": errand_id, "runner_id": runner, **payload}

    def human() -> None:
        if code:
            err_console.print(f"[red]{payload['detail']}[/red]")
        else:
            console.print(f"跑手 #{runner} 抢到代办 #{errand_id}（{payload['distance_km']} 公里）"
                          + ("，此前已抢到" if payload["outcome"] == "retry" else ""))

    emit(as_json, payload, human)
    raise typer.Exit(code)


def _read_rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise DomainError(f"{path.name} 缺少列：{'、'.join(missing)}")
            return [{c: (row.get(c) or "").strip() for c in columns} for row in reader]
    except OSError as exc:
        raise DomainError(f"无法读取 {path}：{exc.strerror}") from exc


def _number(value: str, *, where: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and low <= number <= high):
        raise DomainError(f"{where}：「{value}」不是有效的数")
    return number


@errand_app.command("dispatch", help="对文件求解一轮派单：半径内派出最多的代办，其次总距离最短。")
def dispatch(
    runners: Annotated[Path, typer.Option("--runners", help="runner_id,lat,lng,capacity 的 CSV")],
    errands: Annotated[Path, typer.Option("--errands", help="errand_id,lat,lng 的 CSV")],
    radius_km: Annotated[float, typer.Option("--radius-km", min=0.0, help="半径（公里，含边界）")],
    as_json: JsonOption = False,
) -> None:
    from tongban.cli.session import refusals
    from tongban.errand.dispatch import ErrandPoint, RunnerPoint, solve

    with refusals():
        runner_points = []
        for n, row in enumerate(_read_rows(runners, ("runner_id", "lat", "lng", "capacity")), 2):
            where = f"{runners.name} 第{n}行"
            capacity = _number(row["capacity"], where=where, low=0, high=10_000)
            if capacity != int(capacity):
                raise DomainError(f"{where}：capacity 须为整数")
            runner_points.append(RunnerPoint(
                row["runner_id"], _number(row["lat"], where=where, low=-90, high=90),
                _number(row["lng"], where=where, low=-180, high=180), int(capacity)))
        errand_points = []
        for n, row in enumerate(_read_rows(errands, ("errand_id", "lat", "lng")), 2):
            where = f"{errands.name} 第{n}行"
            errand_points.append(ErrandPoint(
                row["errand_id"], _number(row["lat"], where=where, low=-90, high=90),
                _number(row["lng"], where=where, low=-180, high=180)))
        solution = solve(runner_points, errand_points, radius_km=radius_km)
    payload: dict[str, Any] = solution.as_dict()

    def human() -> None:
        console.print(f"派出 {payload['assigned']}/{len(errand_points)} 件，总距离 "
                      f"{payload['total_distance_km']:.2f} 公里，用时 {payload['solve_ms']:.1f} 毫秒")

    emit(as_json, payload, human)


postal_app = typer.Typer(help="政务服务+邮政网点：导入、列表。", no_args_is_help=True)
errand_app.add_typer(postal_app, name="postal")


@postal_app.command("import",
                    help="导入邮政网点（CSV/XLSX：网点编码、网点名称、区县、升级状态…）；全部通过才导入。")
def postal_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV 或 XLSX 文件")],
    as_json: JsonOption = False,
) -> None:
    from tongban.cli.session import json_row_errors
    from tongban.errand import postal

    with service_call() as db, json_row_errors(as_json, {"added": 0, "changed": 0,
                                                         "unchanged": 0}):
        result = postal.import_post_offices(db, actor=SYSTEM_ACTOR, source=file)
    emit(as_json, result.as_dict(), lambda: console.print(
        f"已导入：新增 {result.added} 个，更新 {result.changed} 个，未变 {result.unchanged} 个"))


@postal_app.command("list", help="邮政网点列表（按网点编码）。")
def postal_list(
    county: Annotated[str, typer.Option("--county", help="区县代码或名称")] = "",
    page: PageOption = 1, page_size: PageSizeOption = None, search: SearchOption = "",
    as_json: JsonOption = False,
) -> None:
    from tongban.errand import postal
    from tongban.org import service as org_service

    with service_call() as db:
        chosen = org_service.resolve_org(db, ref=county) if county else None
        found = postal.list_post_offices(db, actor=SYSTEM_ACTOR, county=chosen,
                                         params=list_params(page, page_size, search))
        rows = found.map(postal.office_row)

    def human() -> None:
        table = Table(title=f"邮政网点（共 {found.total} 个）")
        for column in ("编码", "名称", "区县", "升级", "部门", "事项"):
            table.add_column(column)
        for row in rows.items:
            table.add_row(row["code"], row["name"], row["county_name"],
                          row["upgraded_on"] or "未升级", str(len(row["departments"])),
                          str(len(row["item_codes"])))
        console.print(table)

    emit_page(as_json, rows, human)
