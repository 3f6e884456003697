"""``tongban jobs``: the daily jobs of every domain."""

from __future__ import annotations

from typing import Annotated

import typer

from tongban.cli.options import JsonOption, date_option
from tongban.cli.output import console, emit, err_console
from tongban.cli.session import refusals
from tongban.core.workdays import local_today

jobs_app = typer.Typer(help="定时任务：提醒、督办、逾期扣分、指标汇总。", no_args_is_help=True)


@jobs_app.command("run", help="运行当天的定时任务（可重复执行，不会重复提醒或扣分）。")
def jobs_run(
    as_of: Annotated[str | None, typer.Option(help="按该日运行 YYYY-MM-DD（默认今天）")] = None,
    as_json: JsonOption = False,
) -> None:
    from tongban.system.jobs import run_all

    day = date_option(as_of, "日期") or local_today()
    with refusals():
        payload = run_all(as_of=day)
    report, reviews, reports = (payload["rectification"], payload["reviews"],
                                payload["reports"])

    def human() -> None:
        console.print(f"{day} 整改督办：提醒 {report['reminders']} 人次，督办 {report['escalations']} 人次，"
                      f"逾期扣分 {len(report['penalties'])} 条，指标变更 {report['metrics_changed']} 项")
        console.print(f"{day} 好差评：提醒 {reviews['reminders']} 人次，督办 {reviews['escalations']} 人次，"
                      f"默认评价 {reviews['default_ratings']} 条，指标变更 {reviews['metrics_changed']} 项")
        generated = reports["generated"]
        console.print(f"{day} 通报：生成 {len(generated)} 份"
                      + (f"（编号 {'、'.join(map(str, generated))}）" if generated else ""))
        errands = payload["errands"]
        console.print(f"{day} 跑团代办：派单超时退回 {errands['offers_expired']} 件，"
                      f"超时督办 {errands['overdue_escalated']} 件，"
                      f"指标变更 {errands['metrics_changed']} 项")
        for problem in report["problems"] + reviews["problems"] + reports["problems"]:
            err_console.print(f"[yellow]{problem}[/yellow]")

    emit(as_json, payload, human)
