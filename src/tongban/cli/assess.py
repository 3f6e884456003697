"""``tongban assess``: schemes, imports, scoring, ranks, explanations, what-if."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tongban.cli.options import (
    CohortOption,
    JsonOption,
    OrgOption,
    PageOption,
    PageSizeOption,
    PeriodOption,
    SearchOption,
    list_params,
)
from tongban.cli.output import console, emit, emit_page, err_console
from tongban.cli.session import service_call
from tongban.core.numbers import fixed
from tongban.core.periods import period_label
from tongban.core.security import SYSTEM_ACTOR

assess_app = typer.Typer(help="考核：方案、导入、计分、排名、解释、假设分析。", no_args_is_help=True)
scheme_app = typer.Typer(help="考核方案（YAML，版本不可修改）。", no_args_is_help=True)
assess_app.add_typer(scheme_app, name="scheme")


@scheme_app.command("load", help="加载考核方案 YAML；同一版本重复加载不变，内容不同则拒绝。")
def scheme_load(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="YAML 文件")],
    as_json: JsonOption = False,
) -> None:
    from tongban.assessment import service as assessment
    from tongban.core.tabular import decode_text

    with service_call() as db:
        scheme, created = assessment.load_scheme(
            db, actor=SYSTEM_ACTOR, text=decode_text(file.read_bytes(), filename=file.name),
            filename=file.name)
        payload = {"code": scheme.code, "version": scheme.version, "created": created,
                   "indicators": scheme.indicator_count, "hash": scheme.content_hash}
    emit(as_json, payload, lambda: console.print(
        f"{'已加载' if created else '已存在（内容相同）'}考核方案 {payload['code']}@{payload['version']}，"
        f"{payload['indicators']} 项指标"))


@scheme_app.command("list", help="已加载的考核方案及其适用期间。")
def scheme_list(search: SearchOption = "", page: PageOption = 1,
                page_size: PageSizeOption = None, as_json: JsonOption = False) -> None:
    from tongban.assessment import service as assessment

    with service_call() as db:
        schemes = assessment.list_schemes(
            db, actor=SYSTEM_ACTOR, params=list_params(page, page_size, search))
        names = assessment.cohort_names(db, codes={c for s in schemes.items for c in s.cohorts})
        cohorts = ["、".join(names.get(c, c) for c in s.cohorts) for s in schemes.items]
        found = schemes.map(
            lambda s: {"code": s.code, "version": s.version, "name": s.name,
                       "effective_from": s.effective_from, "effective_to": s.effective_to,
                       "cohorts": s.cohorts, "indicators": s.indicator_count,
                       "hash": s.content_hash[:12]})

    def human() -> None:
        table = Table(title="考核方案")
        for column in ("代码@版本", "名称", "适用期间", "分组", "指标数"):
            table.add_column(column)
        for r, cohort_text in zip(found.items, cohorts, strict=True):
            table.add_row(f"{r['code']}@{r['version']}", str(r["name"]),
                          f"{r['effective_from']}–{r['effective_to'] or ''}",
                          cohort_text, str(r["indicators"]))
        console.print(table)

    emit_page(as_json, found, human)


@assess_app.command("scheme-diff", help="比较两个方案版本（code@version）：新增、删除、调整分值的指标。")
def scheme_diff(
    old: Annotated[str, typer.Argument(help="旧版本，如 sc-ywtb@2026.1")],
    new: Annotated[str, typer.Argument(help="新版本，如 sc-ywtb@2026.2")],
    as_json: JsonOption = False,
) -> None:
    from tongban.assessment import service as assessment

    with service_call() as db:
        changes = assessment.diff(db, actor=SYSTEM_ACTOR, old_ref=old, new_ref=new)
    rows = [{"code": c.code, "name": c.name, "change": c.change, "old_points": c.old_points,
             "new_points": c.new_points, "detail": c.detail} for c in changes]

    def human() -> None:
        if not rows:
            console.print("两个版本的指标没有差异")
            return
        table = Table(title=f"{old} → {new}")
        for column in ("变化", "指标", "原分值", "新分值", "说明"):
            table.add_column(column)
        for c in changes:
            table.add_row(c.label, f"{c.code} {c.name}",
                          "" if c.old_points is None else f"{c.old_points:g}",
                          "" if c.new_points is None else f"{c.new_points:g}", c.detail)
        console.print(table)

    emit(as_json, rows, human)


@assess_app.command(
    "import",
    help="导入省考核通报得分（长表/宽表）或数据项（period,org,metric,value）。全部通过才导入。",
)
def assess_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV 或 XLSX 文件")],
    cohort: Annotated[str | None, typer.Option("--cohort", help="考核分组（导入得分时必填）")] = None,
    period: Annotated[str | None, typer.Option("--period", help="考核期（文件无 period 列时必填）")] = None,
    as_json: JsonOption = False,
) -> None:
    from tongban.assessment import importers

    with service_call() as db:
        report = importers.import_file(db, actor=SYSTEM_ACTOR, source=file, cohort_code=cohort,
                                       period=period)

    def human() -> None:
        console.print(
            f"已导入 {report.filename}：{report.rows} 行，数据项变更 {report.metric_values_changed}，"
            f"新增加扣分 {report.adjustments_created}，撤销加扣分 {report.adjustments_voided}"
            + ("（与此前导入的文件相同）" if report.repeated else ""))
        for m in report.mismatches:
            err_console.print(f"[yellow]第{m['row']}行「{m['column']}」：{m['reason']}[/yellow]")

    emit(as_json, report.as_dict(), human)


@assess_app.command("score", help="计算（或重新计算）成绩单草稿；--publish 发布并冻结。")
def assess_score(
    cohort: CohortOption,
    period: PeriodOption,
    publish: Annotated[bool, typer.Option("--publish", help="计算后发布（发布后不可修改）")] = False,
    as_json: JsonOption = False,
) -> None:
    from tongban.assessment import service as assessment

    with service_call() as db:
        sheet = assessment.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort,
                                         period=period)
        if publish:
            assessment.publish_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period=period)
        payload = {"cohort": cohort, "period": period, "revision": sheet.revision,
                   "status": sheet.status, "orgs": len(sheet.lines),
                   "hash": sheet.content_hash or None,
                   "scheme": f"{sheet.scheme.code}@{sheet.scheme.version}"}
    emit(as_json, payload, lambda: console.print(
        f"{cohort} {period} 成绩单第{payload['revision']}版（{payload['scheme']}）："
        f"{payload['orgs']} 个单位，{'已发布' if publish else '草稿'}"))


@assess_app.command("correct", help="更正已发布的成绩单：按当前数据生成新修订（草稿），须写明原因。")
def assess_correct(
    cohort: CohortOption,
    period: PeriodOption,
    reason: Annotated[str, typer.Option("--reason", help="更正原因")],
    as_json: JsonOption = False,
) -> None:
    from tongban.assessment import service as assessment

    with service_call() as db:
        sheet = assessment.correct_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort,
                                         period=period, reason=reason)
        payload = {"cohort": cohort, "period": period, "revision": sheet.revision,
                   "status": sheet.status}
    emit(as_json, payload, lambda: console.print(
        f"已生成更正草稿第{payload['revision']}版；核对后用 tongban assess score --publish 发布"))


@assess_app.command("rank", help="排名表：总分、名次、等次。")
def assess_rank(cohort: CohortOption, period: PeriodOption, as_json: JsonOption = False) -> None:
    from tongban.assessment import service as assessment
    from tongban.assessment.enums import Grade, SheetStatus

    with service_call() as db:
        sheet = assessment.require_sheet(db, cohort_code=cohort, period=period)
        rows: list[dict[str, Any]] = [
            {"org_code": ln.org.code, "org_name": ln.org.name, "total": round(ln.total, 4),
             "rank": ln.rank, "grade": ln.grade} for ln in sheet.lines]
        title = f"{sheet.cohort.name} {period_label(period)}（{SheetStatus(sheet.status).label}）"

    def human() -> None:
        table = Table(title=title)
        for column in ("名次", "单位", "总分", "等次"):
            table.add_column(column)
        for r in rows:
            table.add_row(str(r["rank"]), str(r["org_name"]), fixed(r["total"]),
                          Grade(r["grade"]).label)
        console.print(table)

    emit(as_json, rows, human)


@assess_app.command("explain", help="一个单位的每项得分、依据和加扣分。")
def assess_explain(cohort: CohortOption, period: PeriodOption, org: OrgOption,
                   as_json: JsonOption = False) -> None:
    from tongban.assessment import service as assessment

    with service_call() as db:
        payload = assessment.explanation(db, actor=SYSTEM_ACTOR, cohort_code=cohort,
                                         period=period, org_ref=org)

    def human() -> None:
        console.print(f"{payload['org_name']} {payload['period']}：总分 {fixed(payload['total'])}，"
                      f"第{payload['rank']}名，等次「{payload['grade_label']}」")
        for item in sorted(payload["indicators"], key=lambda i: -i["lost"]):
            if item["lost"] > 0:
                console.print(f"  {item['code']} {item['name']}：{item['points']:g}/"
                              f"{item['max_points']:g}（{item['note']}）")
        for adj in payload["adjustments"]:
            console.print(f"  加扣分 #{adj['id']}：{adj['points']:+g}（{adj['reason']}）")

    emit(as_json, payload, human)


def _pairs(values: list[str], what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for pair in values:
        key, sep, number = pair.partition("=")
        try:
            out[key.strip()] = float(number)
        except ValueError:
            sep = ""
        if not sep:
            err_console.print(f"[red]错误：{what}「{pair}」应写成 代码=数值[/red]")
            raise typer.Exit(2)
    return out


@assess_app.command("whatif", help="假设分析：去掉加扣分、设定指标得分或数据项后的总分和名次。")
def assess_whatif(
    cohort: CohortOption,
    period: PeriodOption,
    org: OrgOption,
    drop_adjustment: Annotated[list[int] | None, typer.Option(help="去掉的加扣分编号（可重复）")] = None,
    set_points: Annotated[list[str] | None, typer.Option("--set", help="指标=得分（可重复）")] = None,
    set_metric: Annotated[list[str] | None, typer.Option(help="数据项=数值（可重复）")] = None,
    as_json: JsonOption = False,
) -> None:
    from tongban.assessment import analysis

    points = _pairs(set_points or [], "--set")
    metrics = _pairs(set_metric or [], "--set-metric")
    with service_call() as db:
        result = analysis.whatif(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period=period,
                                 org_ref=org, drop_adjustments=drop_adjustment or [],
                                 set_points=points, set_metrics=metrics)
    payload = {"org_code": result.org_code, "org_name": result.org_name,
               "before": {"total": result.before_total, "rank": result.before_rank},
               "after": {"total": result.after_total, "rank": result.after_rank},
               "passes": result.passes, "falls_behind": result.falls_behind,
               "changes": result.changes, "notes": result.notes}
    emit(as_json, payload, lambda: console.print(
        f"{result.org_name}：{fixed(result.before_total)} 分第{result.before_rank}名 → "
        f"{fixed(result.after_total)} 分第{result.after_rank}名"
        + (f"；超过 {'、'.join(result.passes)}" if result.passes else "")
        + (f"；落后于 {'、'.join(result.falls_behind)}" if result.falls_behind else "")
        + "".join(f"\n{note}" for note in result.notes)))


@assess_app.command("trend", help="一个单位各月的总分、名次和等次。")
def assess_trend(cohort: CohortOption, org: OrgOption, as_json: JsonOption = False) -> None:
    from tongban.assessment import analysis

    with service_call() as db:
        points = analysis.trend(db, actor=SYSTEM_ACTOR, cohort_code=cohort, org_ref=org)
    rows = [{"period": p.period, "total": p.total, "rank": p.rank, "of": p.of,
             "grade": p.grade.value, "rank_change": p.rank_change, "status": p.status}
            for p in points]
    def human() -> None:
        for p in points:
            console.print(f"{p.period}：{fixed(p.total)} 分，第{p.rank}/{p.of}名")

    emit(as_json, rows, human)


@assess_app.command("adjust", help="录入一条加扣分（扣分用负数），须写明原因。")
def assess_adjust(
    period: PeriodOption,
    org: OrgOption,
    points: Annotated[float, typer.Option(help="分值：扣分为负，如 -2.6")],
    reason: Annotated[str, typer.Option(help="原因")],
    indicator: Annotated[str | None, typer.Option(help="关联指标代码")] = None,
    scheme: Annotated[str | None, typer.Option(help="仅适用于该方案代码")] = None,
    source_link: Annotated[str, typer.Option(help="来源链接")] = "",
    as_json: JsonOption = False,
) -> None:
    from tongban.assessment import service as assessment
    from tongban.org import service as org_service

    with service_call() as db:
        target = org_service.resolve_org(db, ref=org)
        adjustment, _ = assessment.record_adjustment(
            db, actor=SYSTEM_ACTOR, period=period, org=target, points=points, reason=reason,
            indicator_code=indicator, scheme_code=scheme, source_url=source_link)
        payload = {"id": adjustment.id, "points": adjustment.points, "reason": adjustment.reason}
    emit(as_json, payload, lambda: console.print(
        f"已录入加扣分 #{payload['id']}：{payload['points']:+g}；重新计算成绩单后生效"))


@assess_app.command("alerts", help="预警：排名下滑、指标垫底、连续两月为差。")
def assess_alerts(cohort: CohortOption, period: PeriodOption, as_json: JsonOption = False) -> None:
    from tongban.assessment import analysis

    with service_call() as db:
        found = analysis.alerts(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period=period)
    rows = [{"kind": a.kind, "org_code": a.org_code, "org_name": a.org_name,
             "message": a.message} for a in found]
    def human() -> None:
        for a in found:
            console.print(f"【{a.label}】{a.message}")

    emit(as_json, rows, human)
