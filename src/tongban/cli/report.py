"""``tongban report``: bulletins, archived as they are made."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from tongban.cli.options import (
    CohortOption,
    JsonOption,
    PageOption,
    PageSizeOption,
    PeriodOption,
    SearchOption,
    date_option,
    list_params,
)
from tongban.cli.output import console, emit, emit_page, err_console
from tongban.cli.session import service_call
from tongban.core.errors import DomainError
from tongban.core.security import SYSTEM_ACTOR
from tongban.core.workdays import local_today

if TYPE_CHECKING:
    from tongban.core.listing import Page

report_app = typer.Typer(help="通报：周通报、月考评、季调度（Word、Excel、网页），生成即归档。",
                         no_args_is_help=True)

OutOption = Annotated[Path, typer.Option("--out", help="把 Word、Excel、网页版写到此目录", file_okay=False)]


def _write_report(request: Any, out: Path, as_json: bool) -> None:
    from tongban.reports import service as reports
    from tongban.reports.enums import ReportFormat

    with service_call() as db:
        report, created = reports.generate(db, actor=SYSTEM_ACTOR, request=request)
    with service_call() as db:  # the files take their archive names once the report commits
        out.mkdir(parents=True, exist_ok=True)
        paths: dict[str, str] = {}
        for fmt in ReportFormat:
            _, source, name = reports.report_file(db, actor=SYSTEM_ACTOR, report_id=report.id,
                                                  fmt=fmt)
            target = out / name
            target.write_bytes(source.read_bytes())
            paths[fmt.value] = str(target.resolve())
        payload = {**paths, "report_id": report.id, "title": report.title, "archived": created,
                   "sha256": {f.format: f.sha256 for f in report.files}}

    def human() -> None:
        reused = "" if created else "，内容未变，沿用已归档版本"
        console.print(f"{report.title}（归档编号 {report.id}{reused}）")
        for fmt, path in paths.items():
            console.print(f"  {fmt}: {path}")

    emit(as_json, payload, human)


@report_app.command("weekly", help="周通报：截至该日前一周的整改、差评、风险分值、预警和全省排名。")
def report_weekly(
    as_of: Annotated[str | None, typer.Option(help="通报日期 YYYY-MM-DD（默认今天），统计其前7天")] = None,
    out: OutOption = Path("reports"),
    as_json: JsonOption = False,
) -> None:
    from tongban.reports.enums import ReportKind
    from tongban.reports.service import ReportRequest

    day = date_option(as_of, "日期") or local_today()
    _write_report(ReportRequest(ReportKind.weekly, as_of=day), out, as_json)


@report_app.command("monthly", help="月考评：排名、名次变化、等次、失分、加扣分、好差评指标。")
def report_monthly(cohort: CohortOption, period: PeriodOption, out: OutOption = Path("reports"),
                   as_json: JsonOption = False) -> None:
    from tongban.reports.enums import ReportKind
    from tongban.reports.service import ReportRequest

    _write_report(ReportRequest(ReportKind.monthly, cohort=cohort, period=period), out, as_json)


@report_app.command("quarterly", help="季调度：排名走势、优势短板、假设分析、第一方阵差距、优先清单。")
def report_quarterly(
    cohort: CohortOption,
    quarter: Annotated[str, typer.Option(help="季度，如 2026Q1")],
    out: OutOption = Path("reports"),
    as_json: JsonOption = False,
) -> None:
    from tongban.reports.enums import ReportKind
    from tongban.reports.service import ReportRequest

    _write_report(ReportRequest(ReportKind.quarterly, cohort=cohort, period=quarter), out, as_json)


@report_app.command("list", help="已归档的通报及各文件的哈希。")
def report_list(search: SearchOption = "", page: PageOption = 1,
                page_size: PageSizeOption = None, as_json: JsonOption = False) -> None:
    from tongban.reports import service as reports
    from tongban.reports.enums import ReportKind, ReportTrigger

    with service_call() as db:
        found: Page[dict[str, Any]] = reports.list_reports(
            db, actor=SYSTEM_ACTOR, params=list_params(page, page_size, search)).map(
            lambda r: {"id": r.id, "kind": r.kind, "title": r.title, "period": r.period_key,
                       "scope": r.scope, "trigger": r.trigger, "generated_at": r.generated_at,
                       "files": {f.format: f.sha256 for f in r.files},
                       "intact": reports.verify(r)})

    def human() -> None:
        from tongban.core.templating import local_time

        table = Table("编号", "类型", "标题", "期间", "生成方式", "生成时间", "文件完好")
        for row in found.items:
            table.add_row(str(row["id"]), ReportKind(row["kind"]).label, row["title"], row["period"],
                          ReportTrigger(row["trigger"]).label,
                          local_time(row["generated_at"]),
                          "是" if all(row["intact"].values()) else "否")
        console.print(table)

    emit_page(as_json, found, human)


@report_app.command(
    "benchmark", help="对标报告：各市前沿距离排名、建议按类型和部门、差距最大的事项（不归档）。")
def report_benchmark(
    city: Annotated[str | None, typer.Option("--city", help="市（州），默认本市")] = None,
    out: OutOption = Path("reports"),
    as_json: JsonOption = False,
) -> None:
    from tongban.benchmark import service as benchmark
    from tongban.reports import benchmark as benchmark_report
    from tongban.reports import service as reports

    with service_call() as db:
        try:
            owner = benchmark.resolve_city(db, ref=city) if city else benchmark.home_city(db)
        except DomainError as exc:
            err_console.print(f"[red]错误：{exc.message}[/red]")
            raise typer.Exit(2) from exc
        document = benchmark_report.build(db, actor=SYSTEM_ACTOR, city=owner)
        files = reports.render(document)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for fmt, body in files.items():
        target = out / f"{document.file_stem}.{fmt.value}"
        target.write_bytes(body)
        paths[fmt.value] = str(target.resolve())
    emit(as_json, {**paths, "title": document.title}, lambda: console.print(
        document.title + "\n" + "\n".join(f"  {k}: {v}" for k, v in paths.items())))
