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


@errand_app.command("zones", help="代办区域及其派单方式。")
def zones(as_json: JsonOption = False) -> None:
    from tongban.errand import service

    with service_call() as db:
        items: list[dict[str, Any]] = [
            {"id": org_id, "zone": name, "mode": mode.value, "mode_label": mode.label}
            for org_id, name, mode in service.zones(db)]

    def human() -> None:
        table = Table(title=f"代办区域（{len(items)} 个）")
        for column in ("编号", "区域", "派单方式"):
            table.add_column(column)
        for row in items:
            table.add_row(str(row["id"]), row["zone"], row["mode_label"])
        console.print(table)

    emit(as_json, {"items": items, "total": len(items)}, human)


@errand_app.command("mode", help="设置区域的派单方式：dispatch 智能派单、grab 自助抢单、both 两者；"
                                 "default 恢复默认设置。")
def set_mode(zone: Annotated[str, typer.Argument(help="区域名称或编号")],
             mode: Annotated[str, typer.Argument(help="dispatch、grab、both 或 default")],
             as_json: JsonOption = False) -> None:
    from tongban.errand import service
    from tongban.errand.enums import ZoneMode
    from tongban.org import service as org_service

    if mode != "default" and mode not in ZoneMode.__members__:
        err_console.print(f"[red]错误：没有派单方式「{mode}」；可选：dispatch、grab、both、default[/red]")
        raise typer.Exit(2)
    with service_call() as db:
        org = org_service.resolve_org(db, ref=zone)
        found = service.set_zone_mode(db, actor=SYSTEM_ACTOR, zone_org_id=org.id,
                                      mode=None if mode == "default" else ZoneMode(mode))
        payload = {"id": org.id, "zone": org.name, "mode": found.mode or "default"}
    emit(as_json, payload, lambda: console.print(f"{payload['zone']}：派单方式已设为 {mode}"))


@errand_app.command("dispatcher", help="运行派单进程：每隔若干秒为各区域求解一轮派单（Ctrl+C 结束）。")
def dispatcher(
    interval: Annotated[float | None, typer.Option(
        "--interval", min=1.0, help="周期秒数（默认 TONGBAN_ERRAND_DISPATCH_SECONDS）")] = None,
    zone: Annotated[list[str] | None, typer.Option("--zone", help="只运行这些区域（可重复）")] = None,
    once: Annotated[bool, typer.Option("--once", help="只运行一轮后退出")] = False,
    as_json: JsonOption = False,
) -> None:
    import threading
    from contextlib import suppress

    from tongban.cli.session import refusals
    from tongban.core import background
    from tongban.core.config import get_settings
    from tongban.errand.dispatcher import Dispatcher, run_once
    from tongban.org import service as org_service

    settings = get_settings()
    wanted: set[int] | None = None
    if zone:
        with service_call() as db:
            wanted = {org_service.resolve_org(db, ref=name).id for name in zone}
    lock = None
    if settings.is_sqlite:
        # one process dispatches a SQLite database: the one holding the background lock
        lock = background.acquire(settings.database_url)
        if not lock.held:
            err_console.print(f"[red]错误：派单已由另一个进程运行（{lock.description}）。[/red]")
            raise typer.Exit(1)
    runner = Dispatcher(interval=interval or settings.errand_dispatch_seconds or 10,
                        zone_org_ids=wanted)
    try:
        if once:
            with refusals():
                results = [r.as_dict() for r in run_once(locks=runner.locks,
                                                         zone_org_ids=wanted)]

            def human() -> None:
                for r in results:
                    console.print(f"{r['zone']}：派出 {r['offered']} 件，待下轮 {r['waiting']} 件，"
                                  f"超时退回 {r['expired']} 件，转入抢单池 {r['pooled']} 件")

            emit(as_json, {"items": results, "total": len(results)}, human)
            return
        err_console.print(f"派单进程已启动，每 {runner.interval:g} 秒一轮，按 Ctrl+C 结束。")
        with suppress(KeyboardInterrupt):
            runner.start()
            threading.Event().wait()
    finally:
        runner.stop()
        if lock is not None:
            lock.release()


@errand_app.command("simulate", help="在示范城市的地理上模拟一天的代办，比较派单方式。")
def simulate(
    requests: Annotated[int, typer.Option("--requests", min=1, max=1_000_000, help="请求数")],
    runners: Annotated[int, typer.Option("--runners", min=1, max=100_000, help="跑手数")],
    minutes: Annotated[float, typer.Option("--minutes", min=1, max=10_080, help="时长（分钟）")],
    modes: Annotated[str, typer.Option("--modes", help="逗号分隔：dispatch,grab,greedy")] = (
        "dispatch,grab,greedy"),
    seed: Annotated[int, typer.Option("--seed", help="随机种子")] = 1,
    as_json: JsonOption = False,
) -> None:
    from tongban.core.config import get_settings
    from tongban.errand.simulate import MODES, Scenario
    from tongban.errand.simulate import simulate as run

    chosen = tuple(m.strip() for m in modes.split(",") if m.strip())
    unknown = [m for m in chosen if m not in MODES]
    if not chosen or unknown:
        err_console.print(f"[red]错误：未知的模式「{'、'.join(unknown)}」；可选：{','.join(MODES)}[/red]")
        raise typer.Exit(2)
    settings = get_settings()
    payload = run(Scenario(requests=requests, runners=runners, minutes=minutes, seed=seed,
                           tick_seconds=float(settings.errand_dispatch_seconds or 10),
                           radius_km=settings.errand_radius_km,
                           speed_kmh=settings.errand_speed_kmh), chosen)

    def human() -> None:
        table = Table(title=f"模拟：{requests} 个请求、{runners} 名跑手、{minutes:g} 分钟")
        for column in ("方式", "派出率", "平均取件距离(公里)", "超时占比", "工作量基尼系数",
                       "求解中位数(毫秒)", "求解P99(毫秒)"):
            table.add_column(column)
        for mode, row in payload["modes"].items():
            table.add_row(mode, f"{row['assignment_rate']:.1%}", f"{row['mean_pickup_km']:.2f}",
                          f"{row['late_share']:.1%}", f"{row['workload_gini']:.3f}",
                          f"{row['solve_ms_p50']:.2f}", f"{row['solve_ms_p99']:.2f}")
        console.print(table)

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
