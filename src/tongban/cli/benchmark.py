"""``tongban benchmark``: 对标 — other cities' catalogs, alignment, frontier, suggestions.

Scripts rely on the JSON shapes; exit 0 on success, 1 when the input has errors (the JSON is
still printed), 2 for a usage error (an unknown city, a bad date, a missing option).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tongban.cli.options import JsonOption, date_option
from tongban.cli.output import console, emit, err_console
from tongban.cli.session import service_call
from tongban.core.errors import DomainError, ValidationFailed
from tongban.core.security import SYSTEM_ACTOR

benchmark_app = typer.Typer(help="对标：导入各市事项目录，对齐事项，计算全省最优与前沿距离，生成建议。",
                            no_args_is_help=True)

CityOption = Annotated[str, typer.Option("--city", help="市（州），如 巴中、阿坝州 或 511900")]
FileArgument = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV 或 XLSX 文件")]


def _city(db: Any, ref: str) -> Any:
    from tongban.benchmark import service

    try:
        return service.resolve_city(db, ref=ref)
    except DomainError as exc:
        err_console.print(f"[red]错误：{exc.message}[/red]")
        raise typer.Exit(2) from exc


@benchmark_app.command("import", help="导入一个市（州）的事项目录（可带材料文件或“材料”工作表）。")
def benchmark_import(
    file: FileArgument,
    city: CityOption,
    materials: Annotated[Path | None, typer.Option(
        "--materials", exists=True, dir_okay=False,
        help="材料文件（事项、材料名称、材料形式、份数、是否必需）")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="目录日期 YYYY-MM-DD（默认今天）")] = None,
    kind: Annotated[str, typer.Option(
        "--kind", help="目录（默认），或 实施清单：文件为省级实施清单的材料（材料文件的格式）")] = "目录",
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="实施清单：只说将新增、删除、改动哪些事项，不写入")] = False,
    as_json: JsonOption = False,
) -> None:
    from tongban.benchmark import service
    from tongban.benchmark.enums import ImportKind

    chosen = next((k for k in ImportKind if kind in (k.label, k.value)), None)
    if chosen is None or (chosen is ImportKind.implementation_list and materials is not None):
        err_console.print("[red]错误：--kind 应为 目录 或 实施清单（实施清单不带 --materials）[/red]")
        raise typer.Exit(2)
    if chosen is ImportKind.implementation_list:
        _import_list(file, city, as_json, dry_run)
        return
    day = date_option(as_of, "--as-of")
    refused: ValidationFailed | None = None
    with service_call() as db:
        owner = _city(db, city)
        try:
            result = service.import_catalog(db, actor=SYSTEM_ACTOR, city=owner, source=file,
                                            materials=materials, as_of=day)
        except ValidationFailed as exc:
            refused = exc
        payload: dict[str, Any] = {"city": owner.name, "snapshot": None, "items": 0,
                                   "materials": 0, "errors": []}
        if refused is None:
            payload.update(snapshot={"id": result.snapshot.id,
                                     "date": result.snapshot.as_of.isoformat(),
                                     "new": result.new},
                           items=result.items, materials=result.materials)
    if refused is not None:
        payload["errors"] = refused.errors.as_dict()["errors"]
        failed = refused
        emit(as_json, payload, lambda: _failed(failed))
        raise typer.Exit(1)
    emit(as_json, payload, lambda: console.print(
        f"{payload['city']}：{'新快照' if result.new else '内容未变，沿用快照'} "
        f"#{result.snapshot.id}（{result.snapshot.as_of}），事项 {result.items} 项，"
        f"材料 {result.materials} 条"))


def _failed(refused: ValidationFailed) -> None:
    err_console.print(f"[red]错误：{refused.summary}[/red]")
    for line in refused.errors.lines():
        err_console.print(f"  - {line}", markup=False, highlight=False)


def _import_list(file: Path, city: str, as_json: bool, dry_run: bool = False) -> None:
    from tongban.benchmark import service

    refused: ValidationFailed | None = None
    with service_call() as db:
        owner = _city(db, city)
        try:
            result = service.import_implementation_list(db, actor=SYSTEM_ACTOR, city=owner,
                                                        source=file, dry_run=dry_run)
        except ValidationFailed as exc:
            refused = exc
    payload: dict[str, Any] = {"city": owner.name, "kind": "实施清单", "items": 0, "materials": 0,
                               "changed": False, "errors": []}
    if refused is not None:
        payload["errors"] = refused.errors.as_dict()["errors"]
        emit(as_json, payload, lambda: _failed(refused))
        raise typer.Exit(1)
    payload.update(result.as_dict())
    emit(as_json, payload, lambda: console.print(
        f"{payload['city']}实施清单：事项 {result.items} 项，材料 {result.materials} 条；"
        + result.summary()))


def _group_json(group: Any) -> dict[str, Any]:
    return {"id": group.id, "name": group.name,
            "members": [{"id": m.id, "city": m.org.name, "name": m.name, "code": m.code,
                         "confidence": m.confidence, "status": m.status}
                        for m in group.members]}


@benchmark_app.command("align", help="对齐各市最新事项目录中的事项（分析员的复核决定保留）。")
def benchmark_align(as_json: JsonOption = False) -> None:
    from sqlalchemy import select

    from tongban.benchmark import service
    from tongban.benchmark.models import AlignmentGroup, AlignmentMember

    with service_call() as db:
        result = service.align(db, actor=SYSTEM_ACTOR)
        groups = [_group_json(g) for g in db.scalars(
            select(AlignmentGroup).where(AlignmentGroup.id.in_(select(AlignmentMember.group_id)))
            .order_by(AlignmentGroup.id))]
    emit(as_json, {"groups": groups, "aligned": result.aligned, "review": result.review},
         lambda: console.print(f"共 {result.groups} 组：已对齐 {result.aligned} 项，"
                               f"待复核 {result.review} 项，已确认 {result.confirmed} 项"))


@benchmark_app.command(
    "review", help="复核一组：--confirm 确认其待复核成员，--move 成员 --to 组，--split 成员。")
def benchmark_review(
    group: Annotated[int, typer.Argument(help="事项组编号")],
    confirm: Annotated[bool, typer.Option("--confirm", help="确认该组的待复核成员")] = False,
    move: Annotated[int | None, typer.Option("--move", help="要移动的成员编号")] = None,
    to: Annotated[int | None, typer.Option("--to", help="移入的事项组编号")] = None,
    split: Annotated[int | None, typer.Option("--split", help="要拆出的成员编号")] = None,
    as_json: JsonOption = False,
) -> None:
    from tongban.benchmark import service
    from tongban.benchmark.enums import MemberStatus, ReviewAction

    chosen = [confirm, move is not None, split is not None]
    if sum(chosen) != 1 or (move is not None) != (to is not None):
        err_console.print("[red]错误：请只选一项：--confirm、--move 成员 --to 组 或 --split 成员[/red]")
        raise typer.Exit(2)
    with service_call() as db:
        try:
            target = service.get_group(db, group_id=group)
            if confirm:
                for member in list(target.members):
                    if member.status == MemberStatus.review.value:
                        service.review_member(db, actor=SYSTEM_ACTOR, member=member,
                                              action=ReviewAction.confirm)
            else:
                member = service.get_member(db, member_id=move if move is not None else split or 0)
                if member.group_id != target.id:
                    raise DomainError(f"成员 #{member.id} 不在事项组 #{target.id} 中")
                if move is not None:
                    service.review_member(db, actor=SYSTEM_ACTOR, member=member,
                                          action=ReviewAction.move,
                                          target=service.get_group(db, group_id=to or 0))
                else:
                    service.review_member(db, actor=SYSTEM_ACTOR, member=member,
                                          action=ReviewAction.split_off)
        except DomainError as exc:
            err_console.print(f"[red]错误：{exc.message}[/red]")
            raise typer.Exit(2) from exc
        db.expire_all()
        shown = _group_json(service.get_group(db, group_id=group))
    emit(as_json, shown, lambda: console.print(f"已复核事项组 #{group}"))


@benchmark_app.command("frontier", help="一市（州）各事项的全省最优与前沿距离（DTF）。")
def benchmark_frontier(city: CityOption, as_json: JsonOption = False) -> None:
    from tongban.benchmark import service

    with service_call() as db:
        items = service.frontier_of(db, actor=SYSTEM_ACTOR, city=_city(db, city))
    emit(as_json, {"items": items}, lambda: console.print(
        "\n".join(f"{i['name']}：DTF {i['dtf']}" for i in items) or "没有与其他市共有的事项"))


@benchmark_app.command("suggest", help="生成一市（州）的对标建议（流程、时限、材料、免提交）。")
def benchmark_suggest(
    city: CityOption,
    out: Annotated[Path | None, typer.Option("--out", dir_okay=False, help="写出 XLSX 文件")] = None,
    as_json: JsonOption = False,
) -> None:
    from tongban.benchmark import service
    from tongban.benchmark.exports import suggestions_xlsx

    with service_call() as db:
        owner = _city(db, city)
        benchmark = service.compute(db)
        result = service.suggest(db, actor=SYSTEM_ACTOR, city=owner, benchmark=benchmark)
        place = benchmark.rank_of(owner.id)
        rows = service.suggestion_rows(db, city=owner)
        if out is not None:
            out.write_bytes(suggestions_xlsx(rows))
    counts = {"procedure": result.counts["procedure"], "time_limit": result.counts["time_limit"],
              "materials": result.counts["materials"], "exempt": result.counts["exempt"]}
    emit(as_json, {"counts": counts, "dtf": place.dtf if place else None,
                   "rank": place.rank if place else None, "by_department": result.by_department,
                   "items": rows},
         lambda: console.print(f"{owner.name}：流程 {counts['procedure']} 条，时限 "
                               f"{counts['time_limit']} 条，材料 {counts['materials']} 条，"
                               f"免提交 {counts['exempt']} 条"))


@benchmark_app.command("diff", help="一市（州）最近两个快照之间的变化。")
def benchmark_diff(city: CityOption, as_json: JsonOption = False) -> None:
    from tongban.benchmark import service

    with service_call() as db:
        found = service.diff_snapshots(db, city=_city(db, city))
    emit(as_json, found, lambda: console.print(
        f"{found['city']}：新增 {len(found['added'])} 项，删除 {len(found['removed'])} 项，"
        f"变化 {len(found['changed'])} 项"))


@benchmark_app.command("departments", help="对标建议中尚未对应到部门的实施部门名称，以及已记住的对应。")
def benchmark_departments(
    city: Annotated[str | None, typer.Option("--city", help="市（州），默认本市")] = None,
    as_json: JsonOption = False,
) -> None:
    from tongban.benchmark import service

    with service_call() as db:
        owner = _city(db, city) if city else service.home_city(db)
        unmapped = [{"name": name, "suggestions": count} for name, count in
                    service.unmapped_departments(db, actor=SYSTEM_ACTOR, city=owner)]
        mapped = [{"name": m.value, "department": m.org.name if m.org else ""} for m in
                  service.department_mappings(db, actor=SYSTEM_ACTOR, city=owner)]
    emit(as_json, {"city": owner.name, "unmapped": unmapped, "mapped": mapped},
         lambda: console.print("\n".join(f"未对应：{u['name'] or '（未注明）'}（{u['suggestions']} 条）"
                                         for u in unmapped) or "所有实施部门都已对应"))


@benchmark_app.command("map", help="把实施部门名称对应到本市的一个部门（记住，重新导入后仍有效）。")
def benchmark_map(
    name: Annotated[str, typer.Argument(help="目录中的实施部门名称")],
    to: Annotated[str, typer.Option("--to", help="本市的部门（名称或编码）")],
    city: Annotated[str | None, typer.Option("--city", help="市（州），默认本市")] = None,
    as_json: JsonOption = False,
) -> None:
    from tongban.benchmark import service

    with service_call() as db:
        owner = _city(db, city) if city else service.home_city(db)
        target = next((d for d in service.department_orgs(db, city=owner)
                       if to in (d.name, d.short_name, d.code)), None)
        if target is None:
            err_console.print(f"[red]错误：{owner.name}没有部门「{to}」[/red]")
            raise typer.Exit(2)
        try:
            service.map_department(db, actor=SYSTEM_ACTOR, city=owner, name=name,
                                   department=target)
        except DomainError as exc:
            err_console.print(f"[red]错误：{exc.message}[/red]")
            raise typer.Exit(2) from exc
    emit(as_json, {"name": name, "department": target.name},
         lambda: console.print(f"已将「{name}」对应到{target.name}"))


@benchmark_app.command("answer", help="登记部门对一条对标建议的答复：adopt（--planned 日期）、"
                                      "reject（--reason 理由）或 implement。")
def benchmark_answer(
    suggestion: Annotated[int, typer.Argument(help="建议编号")],
    action: Annotated[str, typer.Argument(help="adopt、reject 或 implement")],
    planned: Annotated[str | None, typer.Option("--planned", help="计划落实日期 YYYY-MM-DD")] = None,
    reason: Annotated[str, typer.Option("--reason", help="理由或说明")] = "",
    as_json: JsonOption = False,
) -> None:
    from tongban.benchmark import service
    from tongban.benchmark.enums import SuggestionAction

    if action not in SuggestionAction._value2member_map_:
        err_console.print("[red]错误：答复应为 adopt、reject 或 implement[/red]")
        raise typer.Exit(2)
    day = date_option(planned, "--planned")
    with service_call() as db:
        try:
            found = service.get_suggestion(db, actor=SYSTEM_ACTOR, suggestion_id=suggestion)
            service.answer(db, actor=SYSTEM_ACTOR, suggestion=found,
                           action=SuggestionAction(action), planned_on=day, reason=reason)
        except DomainError as exc:
            err_console.print(f"[red]错误：{exc.message}[/red]")
            raise typer.Exit(1) from exc
        shown = {"id": found.id, "state": found.state,
                 "planned_on": found.planned_on.isoformat() if found.planned_on else None,
                 "answer": found.answer}
    emit(as_json, shown, lambda: console.print(f"建议 #{suggestion}：{shown['state']}"))


@benchmark_app.command("check", help="办事指南体检：按规则检查本市最新目录中的办事指南，"
                                     "可为各部门开具异常办事指南整改任务。")
def benchmark_check(
    city: Annotated[str | None, typer.Option("--city", help="市（州），默认本市")] = None,
    open_tasks: Annotated[bool, typer.Option(
        "--open-tasks", help="为有异常的部门各开具一个整改任务（已有未办结的不重复开具）")] = False,
    as_json: JsonOption = False,
) -> None:
    from tongban.benchmark import guides, service

    with service_call() as db:
        owner = _city(db, city) if city else service.home_city(db)
        try:
            found = guides.check_guides(db, actor=SYSTEM_ACTOR, city=owner)
            opened = guides.open_guide_tasks(db, actor=SYSTEM_ACTOR, check=found) \
                if open_tasks else []
        except DomainError as exc:
            err_console.print(f"[red]错误：{exc.message}[/red]")
            raise typer.Exit(1) from exc
        payload = guides.check_as_dict(found)
        payload["tasks"] = [{"department": o.department, "task": o.task_id, "items": o.items,
                             "new": o.new} for o in opened]

    def text() -> None:
        console.print(f"{payload['city']}：检查 {payload['items_checked']} 项，"
                      f"异常 {len(payload['anomalies'])} 处")
        for anomaly in payload["anomalies"]:
            console.print(f"  {anomaly['department'] or '（未注明）'}｜{anomaly['item']}｜"
                          f"{anomaly['rule_label']}：{anomaly['detail']}", markup=False,
                          highlight=False)
        for task in payload["tasks"]:
            console.print(f"  {task['department']}：" + (
                "未对应到部门，未开具任务" if task["task"] is None else
                f"{'开具' if task['new'] else '已有'}整改任务 #{task['task']}"), markup=False)

    emit(as_json, payload, text)
