"""``tongban jobs``: the daily jobs of every domain."""

from __future__ import annotations

from typing import Annotated

import typer

from tongban.cli.options import JsonOption, date_option
from tongban.cli.output import console, emit, err_console
from tongban.cli.session import service_call
from tongban.core.workdays import local_today

jobs_app = typer.Typer(help="定时任务：提醒、督办、逾期扣分、指标汇总。", no_args_is_help=True)


@jobs_app.command("run", help="运行当天的定时任务（可重复执行，不会重复提醒或扣分）。")
def jobs_run(
    as_of: Annotated[str | None, typer.Option(help="按该日运行 YYYY-MM-DD（默认今天）")] = None,
    as_json: JsonOption = False,
) -> None:
    from tongban.core import ratelimit
    from tongban.rectification import jobs as rectification_jobs
    from tongban.reports import jobs as report_jobs
    from tongban.reviews import jobs as review_jobs

    day = date_option(as_of, "日期") or local_today()
    with service_call() as db:
        report = rectification_jobs.run(db, as_of=day)
        reviews = review_jobs.run(db, as_of=day)
        reports = report_jobs.run(db, as_of=day)
        counters = ratelimit.purge(db)
    payload = {"as_of": day.isoformat(), "rectification": report.as_dict(),
               "reviews": reviews.as_dict(), "reports": reports.as_dict(),
               "rate_counters_removed": counters}

    def human() -> None:
        console.print(f"{day} 整改督办：提醒 {report.reminders} 人次，督办 {report.escalations} 人次，"
                      f"逾期扣分 {len(report.penalties)} 条，指标变更 {report.metrics_changed} 项")
        console.print(f"{day} 好差评：提醒 {reviews.reminders} 人次，督办 {reviews.escalations} 人次，"
                      f"默认评价 {reviews.default_ratings} 条，指标变更 {reviews.metrics_changed} 项")
        console.print(f"{day} 通报：生成 {len(reports.generated)} 份"
                      + (f"（编号 {'、'.join(map(str, reports.generated))}）" if reports.generated else ""))
        for problem in report.problems + reviews.problems + reports.problems:
            err_console.print(f"[yellow]{problem}[/yellow]")

    emit(as_json, payload, human)
