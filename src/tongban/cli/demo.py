"""``tongban demo``: the demo city."""

from __future__ import annotations

import typer
from rich.table import Table

from tongban.cli.options import JsonOption
from tongban.cli.output import console, emit
from tongban.cli.session import service_call

demo_app = typer.Typer(help="演示数据（巴中市）。", no_args_is_help=True)


@demo_app.command(
    "load", help="加载巴中市演示数据（组织、账号、事项目录、考核方案与成绩单、整改任务、"
                 "专项台账）。可重复执行。"
)
def demo_load(as_json: JsonOption = False) -> None:
    from tongban.demo.assessment import load_assessment_demo
    from tongban.demo.benchmark import load_benchmark_demo
    from tongban.demo.catalog import load_catalog_demo
    from tongban.demo.city import DEMO_PASSWORD, load_demo
    from tongban.demo.datasharing import load_datasharing_demo
    from tongban.demo.errand import load_errand_demo
    from tongban.demo.ledger import load_ledger_demo
    from tongban.demo.rectification import load_rectification_demo
    from tongban.demo.reviews import load_reviews_demo

    with service_call() as db:
        summary = load_demo(db)
        items = load_catalog_demo(db)
        benchmark_summary = load_benchmark_demo(db)
        assessment_summary = load_assessment_demo(db)
        reviews_summary = load_reviews_demo(db)
        rectification_summary = load_rectification_demo(db)
        errand_summary = load_errand_demo(db)
        data_summary = load_datasharing_demo(db)
        ledger_summary = load_ledger_demo(db)

    def human() -> None:
        console.print(
            f"演示数据已就绪：新增组织 {summary.created_orgs}，分组 {summary.created_cohorts}，"
            f"账号 {summary.created_users}；考核方案 {assessment_summary.schemes_loaded}，"
            f"成绩单 {assessment_summary.sheets_computed}，整改任务 {rectification_summary.tasks}，"
            f"评价 {reviews_summary.reviews}，事项目录新增 {items.added} 项，"
            f"对标事项组 {benchmark_summary.groups}，对标建议 {benchmark_summary.suggestions} 条，"
            f"跑手 {errand_summary.runners}，代办 {errand_summary.errands}，"
            f"邮政网点 {errand_summary.post_offices}，共享数据集 {data_summary.datasets}，"
            f"数据交付 {data_summary.deliveries} 次，台账条目 {ledger_summary.entries} 条"
        )
        table = Table(title=f"演示账号（密码均为 {DEMO_PASSWORD}）")
        for column in ("用户名", "角色", "姓名"):
            table.add_column(column)
        for user in summary.logins:
            table.add_row(user.username, user.role.label, user.display_name)
        console.print(table)

    emit(
        as_json,
        {"created_orgs": summary.created_orgs, "created_cohorts": summary.created_cohorts,
         "created_users": summary.created_users,
         "schemes_loaded": assessment_summary.schemes_loaded,
         "sheets_computed": assessment_summary.sheets_computed,
         "rectification_tasks": rectification_summary.tasks,
         "reviews": reviews_summary.reviews, "catalog_items_added": items.added,
         "benchmark_groups": benchmark_summary.groups,
         "benchmark_suggestions": benchmark_summary.suggestions,
         "errand_runners": errand_summary.runners, "errands": errand_summary.errands,
         "datasets": data_summary.datasets, "data_deliveries": data_summary.deliveries,
         "ledger_items": ledger_summary.items, "ledger_entries": ledger_summary.entries,
         "logins": [{"username": u.username, "role": u.role.value} for u in summary.logins]},
        human,
    )
