"""Command line: ``tongban serve | db | demo | user | org | calendar | audit``.

Commands call the same service functions as the API; they act as the system operator.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from tongban.core import audit, workdays
from tongban.core.config import get_settings
from tongban.core.db import session_scope, upgrade_schema
from tongban.core.errors import DomainError, ValidationFailed
from tongban.core.numbers import fixed, percent
from tongban.core.periods import period_label
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.core.workdays import local_today

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    help="通办 Tongban：政务服务能力提升平台的命令行。",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="数据库：建表、迁移、加载参考数据。", no_args_is_help=True)
demo_app = typer.Typer(help="演示数据（巴中市）。", no_args_is_help=True)
user_app = typer.Typer(help="用户与角色。", no_args_is_help=True)
org_app = typer.Typer(help="组织机构与考核分组。", no_args_is_help=True)
cohort_app = typer.Typer(help="考核分组：同组内相互排名的评价对象。", no_args_is_help=True)
calendar_app = typer.Typer(help="工作日历：法定节假日与调休。", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志。", no_args_is_help=True)
assess_app = typer.Typer(help="考核：方案、导入、计分、排名、解释、假设分析。", no_args_is_help=True)
scheme_app = typer.Typer(help="考核方案（YAML，版本不可修改）。", no_args_is_help=True)
rectify_app = typer.Typer(help="整改督办：任务、期限、风险分值。", no_args_is_help=True)
jobs_app = typer.Typer(help="定时任务：提醒、督办、逾期扣分、指标汇总。", no_args_is_help=True)
reviews_app = typer.Typer(help="好差评：评价导入、差评工单、评价指标。", no_args_is_help=True)
keys_app = typer.Typer(help="数据密钥：加密个人信息（电话号码）的密钥，生成与更换。", no_args_is_help=True)
report_app = typer.Typer(help="通报：周通报、月考评、季调度（Word、Excel、网页），生成即归档。",
                         no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(user_app, name="user")
app.add_typer(org_app, name="org")
org_app.add_typer(cohort_app, name="cohort")
app.add_typer(calendar_app, name="calendar")
app.add_typer(audit_app, name="audit")
app.add_typer(assess_app, name="assess")
assess_app.add_typer(scheme_app, name="scheme")
app.add_typer(rectify_app, name="rectify")
app.add_typer(jobs_app, name="jobs")
app.add_typer(reviews_app, name="reviews")
app.add_typer(report_app, name="report")
app.add_typer(keys_app, name="keys")

JsonOption = Annotated[bool, typer.Option("--json", help="以 JSON 输出，便于脚本处理")]


@contextmanager
def _service_call() -> Iterator[Session]:
    """A committed session; domain errors become a Chinese message and exit code 1."""
    with _refusals(), session_scope() as db:
        yield db


@contextmanager
def _refusals() -> Iterator[None]:
    """Domain errors as a Chinese message (a refused file's errors grouped) and exit code 1."""
    try:
        yield
    except ValidationFailed as exc:
        err_console.print(f"[red]错误：{exc.summary}[/red]")
        for line in exc.errors.lines():
            err_console.print(f"  - {line}", markup=False, highlight=False)
        raise typer.Exit(1) from exc
    except DomainError as exc:
        err_console.print(f"[red]错误：{exc.message}[/red]")
        raise typer.Exit(1) from exc


def _emit(as_json: bool, payload: Any, human: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str, indent=2) + "\n")
    else:
        human()


@contextmanager
def _json_row_errors(as_json: bool, empty: dict[str, int]) -> Iterator[None]:
    """With ``--json``, a refused file prints ``empty``, the summary (``detail``) and its
    errors grouped by kind (``errors``, ``error_count``, ``more_errors``), and exits 1."""
    try:
        yield
    except ValidationFailed as exc:
        if not as_json:
            raise
        _emit(True, {**empty, "detail": exc.summary, **exc.errors.as_dict()}, lambda: None)
        raise typer.Exit(1) from exc


# ---------------------------------------------------------------- serve


@app.command(help="启动网页与 API 服务（默认 http://127.0.0.1:8000）。")
def serve(
    host: Annotated[str | None, typer.Option(help="监听地址")] = None,
    port: Annotated[int | None, typer.Option(help="端口")] = None,
    reload: Annotated[bool, typer.Option(help="代码变更时自动重启（开发用）")] = False,
) -> None:
    import uvicorn

    from tongban.app import ProductionNotReady, check_production_ready

    settings = get_settings()
    try:
        check_production_ready()
    except ProductionNotReady as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    uvicorn.run(
        "tongban.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        reload=reload,
        proxy_headers=True,
    )


# ---------------------------------------------------------------- db


@db_app.command(
    "upgrade", help="迁移数据库到最新版本并加载参考数据（区划、全省21市州分组）。可重复执行。"
)
def db_upgrade(as_json: JsonOption = False) -> None:
    upgrade_schema()
    from tongban.org import service as org_service

    with _service_call() as db:
        loaded = org_service.load_reference_divisions(db)
    from tongban.core.db import schema_revision

    revision = schema_revision()
    _emit(
        as_json,
        {"revision": revision, "created": loaded.created, "updated": loaded.updated,
         "unchanged": loaded.unchanged},
        lambda: console.print(
            f"数据库已是最新版本 {revision}；区划参考数据：新增 {loaded.created}，"
            f"更新 {loaded.updated}，未变 {loaded.unchanged}"
        ),
    )


# ---------------------------------------------------------------- demo


@demo_app.command(
    "load", help="加载巴中市演示数据（组织、账号、考核方案与成绩单、整改任务）。可重复执行。"
)
def demo_load(as_json: JsonOption = False) -> None:
    from tongban.demo.assessment import load_assessment_demo
    from tongban.demo.city import DEMO_PASSWORD, load_demo
    from tongban.demo.rectification import load_rectification_demo
    from tongban.demo.reviews import load_reviews_demo

    with _service_call() as db:
        summary = load_demo(db)
        assessment_summary = load_assessment_demo(db)
        reviews_summary = load_reviews_demo(db)
        rectification_summary = load_rectification_demo(db)

    def human() -> None:
        console.print(
            f"演示数据已就绪：新增组织 {summary.created_orgs}，分组 {summary.created_cohorts}，"
            f"账号 {summary.created_users}；考核方案 {assessment_summary.schemes_loaded}，"
            f"成绩单 {assessment_summary.sheets_computed}，整改任务 {rectification_summary.tasks}，"
            f"评价 {reviews_summary.reviews}"
        )
        table = Table(title=f"演示账号（密码均为 {DEMO_PASSWORD}）")
        for column in ("用户名", "角色", "姓名"):
            table.add_column(column)
        for user in summary.logins:
            table.add_row(user.username, user.role.label, user.display_name)
        console.print(table)

    _emit(
        as_json,
        {"created_orgs": summary.created_orgs, "created_cohorts": summary.created_cohorts,
         "created_users": summary.created_users,
         "schemes_loaded": assessment_summary.schemes_loaded,
         "sheets_computed": assessment_summary.sheets_computed,
         "rectification_tasks": rectification_summary.tasks,
         "reviews": reviews_summary.reviews,
         "logins": [{"username": u.username, "role": u.role.value} for u in summary.logins]},
        human,
    )


# ---------------------------------------------------------------- users


@user_app.command("create", help="新建用户。联络员、跑手须指定所属组织。")
def user_create(
    username: Annotated[str, typer.Argument(help="用户名")],
    role: Annotated[Role, typer.Option(help="角色：admin/analyst/leader/liaison/runner")],
    password: Annotated[
        str, typer.Option(prompt="密码", hide_input=True, confirmation_prompt=True, help="密码")
    ],
    org: Annotated[str | None, typer.Option(help="所属组织（代码或名称）")] = None,
    name: Annotated[str, typer.Option(help="姓名")] = "",
) -> None:
    from tongban.org import service as org_service

    with _service_call() as db:
        org_obj = org_service.resolve_org(db, ref=org) if org else None
        user = org_service.create_user(
            db, actor=SYSTEM_ACTOR, username=username, password=password, role=role,
            org=org_obj, display_name=name,
        )
        console.print(f"已新建用户 {user.username}（{role.label}）")


# ---------------------------------------------------------------- cohorts


@cohort_app.command("create", help="新建考核分组：同组内的评价对象相互排名。")
def cohort_create(
    code: Annotated[str, typer.Argument(help="分组代码，如 bz-counties")],
    name: Annotated[str, typer.Option(help="分组名称")],
    member: Annotated[list[str], typer.Option(help="成员（代码或名称，可重复）")],
    description: Annotated[str, typer.Option(help="说明")] = "",
    as_json: JsonOption = False,
) -> None:
    from tongban.org import service as org_service

    with _service_call() as db:
        members = [org_service.resolve_org(db, ref=m) for m in member]
        cohort = org_service.create_cohort(
            db, actor=SYSTEM_ACTOR, code=code, name=name, members=members,
            description=description,
        )
        payload = {"code": cohort.code, "name": cohort.name,
                   "members": [o.code for o in members]}
    _emit(as_json, payload,
          lambda: console.print(f"已新建考核分组 {code}「{name}」，{len(members)} 个成员"))


# ---------------------------------------------------------------- calendar


@calendar_app.command(
    "import",
    help="导入一年的放假通知：CSV 或 XLSX，两列 date,kind（holiday/workday）。全部通过才导入。",
)
def calendar_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV 或 XLSX 文件")],
) -> None:
    with _service_call() as db:
        changed, unchanged = workdays.import_overrides(db, actor=SYSTEM_ACTOR, source=file)
    console.print(f"导入完成：{changed} 天有变更，{unchanged} 天与已有设定相同")


@calendar_app.command("add-workdays", help="从某日起第 N 个工作日（从次日起算）。")
def calendar_add_workdays(
    start: Annotated[str, typer.Argument(help="起始日期 YYYY-MM-DD")],
    n: Annotated[int, typer.Argument(help="工作日数")],
) -> None:
    try:
        day = date.fromisoformat(start)
    except ValueError as exc:
        err_console.print(f"[red]错误：日期「{start}」不是 YYYY-MM-DD 格式[/red]")
        raise typer.Exit(2) from exc
    with _service_call() as db:
        result = workdays.add_workdays(day, n, db=db)
    sys.stdout.write(result.isoformat() + "\n")


# ---------------------------------------------------------------- audit


@audit_app.command("verify", help="校验审计日志的哈希链；报告第一处断开；给出检查点时还核对链尾。")
def audit_verify(
    checkpoint: Annotated[Path | None, typer.Option(
        "--checkpoint", exists=True, dir_okay=False,
        help="tongban audit checkpoint 导出的检查点文件：发现其后被删除的链尾")] = None,
    as_json: JsonOption = False,
) -> None:
    saved = None
    if checkpoint is not None:
        try:
            saved = audit.Checkpoint.from_dict(json.loads(checkpoint.read_text(encoding="utf-8")))
        except (ValueError, DomainError) as exc:
            err_console.print(f"[red]错误：{checkpoint} 不是有效的检查点文件[/red]")
            raise typer.Exit(2) from exc
    with _service_call() as db:
        report = audit.verify(db)
        missing = audit.check_checkpoint(db, saved=saved) if saved else None
    brk = report.first_break
    _emit(
        as_json,
        {"ok": report.ok and missing is None, "checked": report.checked,
         "first_broken_id": brk.entry_id if brk else None,
         "reason": brk.reason if brk else None, "checkpoint": missing},
        lambda: console.print(
            (f"审计日志完整：已校验 {report.checked} 条记录" if brk is None
             else f"[red]审计日志在第 {brk.entry_id} 号记录处断开：{brk.reason}[/red]")
            + (f"\n[red]与检查点不符：{missing}[/red]" if missing else
               ("；与检查点相符" if saved else ""))
        ),
    )
    if brk is not None or missing is not None:
        raise typer.Exit(1)


@audit_app.command("checkpoint", help="导出签名的链头（记录数和最后一条的哈希），保存在数据库之外。")
def audit_checkpoint(
    out: Annotated[Path, typer.Option("--out", help="写入的文件")] = Path("audit-checkpoint.json"),
    as_json: JsonOption = False,
) -> None:
    with _service_call() as db:
        head = audit.checkpoint(db)
    out.write_text(json.dumps(head.as_dict(), ensure_ascii=False, indent=2) + "\n",
                   encoding="utf-8")
    _emit(as_json, {**head.as_dict(), "file": str(out.resolve())},
          lambda: console.print(f"检查点已写入 {out}：共 {head.count} 条，最后一条为第 {head.last_id} 号"))


# ---------------------------------------------------------------- data keys


@keys_app.command("generate", help="生成一个新的数据密钥（放在 TONGBAN_DATA_KEYS 最前，旧密钥保留在后）。")
def keys_generate() -> None:
    from tongban.core import privacy

    sys.stdout.write(privacy.new_data_key() + "\n")


@keys_app.command("rotate", help="用最新的数据密钥重新加密全部已存的个人信息；之后可删去旧密钥。")
def keys_rotate(as_json: JsonOption = False) -> None:
    from tongban.reviews import service as reviews

    with _service_call() as db:
        rotated = reviews.rotate_personal_data(db, actor=SYSTEM_ACTOR)
    _emit(as_json, {"rotated": rotated},
          lambda: console.print(f"已用最新密钥重新加密 {rotated} 个电话号码；"
                                "旧密钥现可从 TONGBAN_DATA_KEYS 删去"))


@keys_app.command("check", help="检查现有密钥能否解密已存的个人信息（抽查最新的记录）。")
def keys_check(as_json: JsonOption = False) -> None:
    from tongban.reviews import service as reviews

    with _service_call() as db:
        unreadable = reviews.unreadable_personal_data(db, sample=1000)
    _emit(as_json, {"unreadable": unreadable},
          lambda: console.print("[green]数据密钥正常[/green]" if not unreadable else
                                f"[red]{unreadable} 条个人信息无法用现有密钥解密[/red]"))
    if unreadable:
        raise typer.Exit(1)


# ---------------------------------------------------------------- assessment

CohortOption = Annotated[str, typer.Option("--cohort", help="考核分组代码，如 sichuan-cities")]
PeriodOption = Annotated[str, typer.Option("--period", help="考核期 YYYY-MM")]
OrgOption = Annotated[str, typer.Option("--org", help="单位（代码或名称）")]


@scheme_app.command("load", help="加载考核方案 YAML；同一版本重复加载不变，内容不同则拒绝。")
def scheme_load(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="YAML 文件")],
    as_json: JsonOption = False,
) -> None:
    from tongban.assessment import service as assessment
    from tongban.core.tabular import decode_text

    with _service_call() as db:
        scheme, created = assessment.load_scheme(
            db, actor=SYSTEM_ACTOR, text=decode_text(file.read_bytes(), filename=file.name),
            filename=file.name)
        payload = {"code": scheme.code, "version": scheme.version, "created": created,
                   "indicators": scheme.indicator_count, "hash": scheme.content_hash}
    _emit(as_json, payload, lambda: console.print(
        f"{'已加载' if created else '已存在（内容相同）'}考核方案 {payload['code']}@{payload['version']}，"
        f"{payload['indicators']} 项指标"))


@scheme_app.command("list", help="已加载的考核方案及其适用期间。")
def scheme_list(as_json: JsonOption = False) -> None:
    from tongban.assessment import service as assessment

    with _service_call() as db:
        rows = [{"code": s.code, "version": s.version, "name": s.name,
                 "effective_from": s.effective_from, "effective_to": s.effective_to,
                 "cohorts": s.cohorts, "indicators": s.indicator_count,
                 "hash": s.content_hash[:12]}
                for s in assessment.list_schemes(db, actor=SYSTEM_ACTOR)]

    def human() -> None:
        table = Table(title="考核方案")
        for column in ("代码@版本", "名称", "适用期间", "分组", "指标数"):
            table.add_column(column)
        for r in rows:
            table.add_row(f"{r['code']}@{r['version']}", str(r["name"]),
                          f"{r['effective_from']}–{r['effective_to'] or ''}",
                          "、".join(r["cohorts"]), str(r["indicators"]))  # type: ignore[arg-type]
        console.print(table)

    _emit(as_json, rows, human)


@assess_app.command("scheme-diff", help="比较两个方案版本（code@version）：新增、删除、调整分值的指标。")
def scheme_diff(
    old: Annotated[str, typer.Argument(help="旧版本，如 sc-ywtb@2026.1")],
    new: Annotated[str, typer.Argument(help="新版本，如 sc-ywtb@2026.2")],
    as_json: JsonOption = False,
) -> None:
    from tongban.assessment import service as assessment

    with _service_call() as db:
        changes = assessment.diff(db, old_ref=old, new_ref=new)
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

    _emit(as_json, rows, human)


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

    with _service_call() as db:
        report = importers.import_file(db, actor=SYSTEM_ACTOR, source=file, cohort_code=cohort,
                                       period=period)

    def human() -> None:
        console.print(
            f"已导入 {report.filename}：{report.rows} 行，数据项变更 {report.metric_values_changed}，"
            f"新增加扣分 {report.adjustments_created}，撤销加扣分 {report.adjustments_voided}"
            + ("（与此前导入的文件相同）" if report.repeated else ""))
        for m in report.mismatches:
            err_console.print(f"[yellow]第{m['row']}行「{m['column']}」：{m['reason']}[/yellow]")

    _emit(as_json, report.as_dict(), human)


@assess_app.command("score", help="计算（或重新计算）成绩单草稿；--publish 发布并冻结。")
def assess_score(
    cohort: CohortOption,
    period: PeriodOption,
    publish: Annotated[bool, typer.Option("--publish", help="计算后发布（发布后不可修改）")] = False,
    as_json: JsonOption = False,
) -> None:
    from tongban.assessment import service as assessment

    with _service_call() as db:
        sheet = assessment.compute_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort,
                                         period=period)
        if publish:
            assessment.publish_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period=period)
        payload = {"cohort": cohort, "period": period, "revision": sheet.revision,
                   "status": sheet.status, "orgs": len(sheet.lines),
                   "hash": sheet.content_hash or None,
                   "scheme": f"{sheet.scheme.code}@{sheet.scheme.version}"}
    _emit(as_json, payload, lambda: console.print(
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

    with _service_call() as db:
        sheet = assessment.correct_sheet(db, actor=SYSTEM_ACTOR, cohort_code=cohort,
                                         period=period, reason=reason)
        payload = {"cohort": cohort, "period": period, "revision": sheet.revision,
                   "status": sheet.status}
    _emit(as_json, payload, lambda: console.print(
        f"已生成更正草稿第{payload['revision']}版；核对后用 tongban assess score --publish 发布"))


@assess_app.command("rank", help="排名表：总分、名次、等次。")
def assess_rank(cohort: CohortOption, period: PeriodOption, as_json: JsonOption = False) -> None:
    from tongban.assessment import service as assessment
    from tongban.assessment.enums import Grade

    with _service_call() as db:
        sheet = assessment.require_sheet(db, cohort_code=cohort, period=period)
        rows: list[dict[str, Any]] = [
            {"org_code": ln.org.code, "org_name": ln.org.name, "total": round(ln.total, 4),
             "rank": ln.rank, "grade": ln.grade} for ln in sheet.lines]
        title = f"{sheet.cohort.name} {period_label(period)}（{sheet.status}）"

    def human() -> None:
        table = Table(title=title)
        for column in ("名次", "单位", "总分", "等次"):
            table.add_column(column)
        for r in rows:
            table.add_row(str(r["rank"]), str(r["org_name"]), fixed(r["total"]),
                          Grade(r["grade"]).label)
        console.print(table)

    _emit(as_json, rows, human)


@assess_app.command("explain", help="一个单位的每项得分、依据和加扣分。")
def assess_explain(cohort: CohortOption, period: PeriodOption, org: OrgOption,
                   as_json: JsonOption = False) -> None:
    from tongban.assessment import service as assessment

    with _service_call() as db:
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

    _emit(as_json, payload, human)


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
    with _service_call() as db:
        result = analysis.whatif(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period=period,
                                 org_ref=org, drop_adjustments=drop_adjustment or [],
                                 set_points=points, set_metrics=metrics)
    payload = {"org_code": result.org_code, "org_name": result.org_name,
               "before": {"total": result.before_total, "rank": result.before_rank},
               "after": {"total": result.after_total, "rank": result.after_rank},
               "passes": result.passes, "falls_behind": result.falls_behind,
               "changes": result.changes}
    _emit(as_json, payload, lambda: console.print(
        f"{result.org_name}：{fixed(result.before_total)} 分第{result.before_rank}名 → "
        f"{fixed(result.after_total)} 分第{result.after_rank}名"
        + (f"；超过 {'、'.join(result.passes)}" if result.passes else "")
        + (f"；落后于 {'、'.join(result.falls_behind)}" if result.falls_behind else "")))


@assess_app.command("trend", help="一个单位各月的总分、名次和等次。")
def assess_trend(cohort: CohortOption, org: OrgOption, as_json: JsonOption = False) -> None:
    from tongban.assessment import analysis

    with _service_call() as db:
        points = analysis.trend(db, actor=SYSTEM_ACTOR, cohort_code=cohort, org_ref=org)
    rows = [{"period": p.period, "total": p.total, "rank": p.rank, "of": p.of,
             "grade": p.grade.value, "rank_change": p.rank_change, "status": p.status}
            for p in points]
    def human() -> None:
        for p in points:
            console.print(f"{p.period}：{fixed(p.total)} 分，第{p.rank}/{p.of}名")

    _emit(as_json, rows, human)


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

    with _service_call() as db:
        target = org_service.resolve_org(db, ref=org)
        adjustment, _ = assessment.record_adjustment(
            db, actor=SYSTEM_ACTOR, period=period, org=target, points=points, reason=reason,
            indicator_code=indicator, scheme_code=scheme, source_url=source_link)
        payload = {"id": adjustment.id, "points": adjustment.points, "reason": adjustment.reason}
    _emit(as_json, payload, lambda: console.print(
        f"已录入加扣分 #{payload['id']}：{payload['points']:+g}；重新计算成绩单后生效"))


@assess_app.command("alerts", help="预警：排名下滑、指标垫底、连续两月为差。")
def assess_alerts(cohort: CohortOption, period: PeriodOption, as_json: JsonOption = False) -> None:
    from tongban.assessment import analysis

    with _service_call() as db:
        found = analysis.alerts(db, actor=SYSTEM_ACTOR, cohort_code=cohort, period=period)
    rows = [{"kind": a.kind, "org_code": a.org_code, "org_name": a.org_name,
             "message": a.message} for a in found]
    def human() -> None:
        for a in found:
            console.print(f"【{a.label}】{a.message}")

    _emit(as_json, rows, human)


# ---------------------------------------------------------------- rectification


def _date_option(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        err_console.print(f"[red]错误：{what}「{value}」不是 YYYY-MM-DD 格式[/red]")
        raise typer.Exit(2) from exc


@rectify_app.command(
    "import", help="导入省级反馈清单（item_code,item_name,problem,department,due）：每个责任单位一个任务。"
)
def rectify_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV 或 XLSX 文件")],
    penalty_indicator: Annotated[str | None, typer.Option(help="逾期扣分计入的指标代码")] = None,
    points_each: Annotated[float | None, typer.Option(help="每项未整改扣分")] = None,
    cap: Annotated[float | None, typer.Option(help="扣分上限")] = None,
    category: Annotated[str, typer.Option(help="整改类别")] = "异常办事指南",
    issued: Annotated[str | None, typer.Option(help="下发日期 YYYY-MM-DD（默认今天）")] = None,
    as_json: JsonOption = False,
) -> None:
    from tongban.rectification import service as rectification

    with _service_call() as db, _json_row_errors(as_json, {"tasks": 0, "lines": 0}):
        result = rectification.import_feedback(
            db, actor=SYSTEM_ACTOR, source=file, category=category,
            issued_on=_date_option(issued, "下发日期"), penalty_indicator=penalty_indicator,
            points_each=points_each, cap=cap)
    _emit(as_json, result.as_dict(), lambda: console.print(
        f"已导入：新建任务 {result.tasks} 个，新增整改项 {result.lines} 项"))


@rectify_app.command("list", help="整改任务，逾期的在前。")
def rectify_list(
    org: Annotated[str | None, typer.Option(help="单位（含下级）")] = None,
    state: Annotated[str | None, typer.Option(
        help="状态：issued/acknowledged/in_progress/submitted/closed/cancelled")] = None,
    as_of: Annotated[str | None, typer.Option(help="以该日判断逾期（默认今天）")] = None,
    as_json: JsonOption = False,
) -> None:
    from tongban.org import service as org_service
    from tongban.rectification import service as rectification
    from tongban.rectification.enums import TaskState

    day = _date_option(as_of, "日期") or local_today()
    try:
        wanted = TaskState(state) if state else None
    except ValueError as exc:
        err_console.print(f"[red]错误：未知状态「{state}」[/red]")
        raise typer.Exit(2) from exc
    with _service_call() as db:
        scope = org_service.resolve_org(db, ref=org) if org else None
        tasks = rectification.list_tasks(db, actor=SYSTEM_ACTOR, org=scope, state=wanted,
                                         as_of=day)
        rows = [{"id": t.id, "title": t.title, "org_code": t.org.code, "org_name": t.org.name,
                 "category": t.category, "state": t.state, "due": t.due_on.isoformat(),
                 "overdue": rectification.is_overdue(t, as_of=day),
                 "open_lines": t.open_lines,
                 "lines": len(t.lines), "points_at_risk": rectification.points_at_risk(t)}
                for t in tasks]

    def human() -> None:
        table = Table(title=f"整改任务（截至 {day}）")
        for column in ("#", "单位", "任务", "状态", "期限", "未完成/总数", "风险分"):
            table.add_column(column)
        for r in rows:
            table.add_row(str(r["id"]), str(r["org_name"]), str(r["title"]),
                          ("[red]逾期[/red] " if r["overdue"] else "") + TaskState(str(r["state"])).label,
                          str(r["due"]), f"{r['open_lines']}/{r['lines']}", f"{r['points_at_risk']:g}")
        console.print(table)

    _emit(as_json, rows, human)


@rectify_app.command("risk", help="风险分值：各单位若未按期整改将扣多少分、预计名次。")
def rectify_risk(
    org: Annotated[str | None, typer.Option(help="单位（含下级）")] = None,
    as_of: Annotated[str | None, typer.Option(help="以该日计算（默认今天）")] = None,
    as_json: JsonOption = False,
) -> None:
    from tongban.org import service as org_service
    from tongban.rectification import service as rectification

    with _service_call() as db:
        scope = org_service.resolve_org(db, ref=org) if org else None
        rows = [r.as_dict() for r in rectification.risk(
            db, actor=SYSTEM_ACTOR, org=scope, as_of=_date_option(as_of, "日期"))]

    def human() -> None:
        if not rows:
            console.print("没有面临扣分风险的整改任务")
        for r in rows:
            console.print(r["statement"] or f"{r['org_name']}：风险 {r['points_at_risk']} 分，"
                                            f"{r['open_lines']} 项未完成，最近期限 {r['next_due']}")

    _emit(as_json, rows, human)


# ---------------------------------------------------------------- jobs


@jobs_app.command("run", help="运行当天的定时任务（可重复执行，不会重复提醒或扣分）。")
def jobs_run(
    as_of: Annotated[str | None, typer.Option(help="按该日运行 YYYY-MM-DD（默认今天）")] = None,
    as_json: JsonOption = False,
) -> None:
    from tongban.core import ratelimit
    from tongban.rectification import jobs as rectification_jobs
    from tongban.reports import jobs as report_jobs
    from tongban.reviews import jobs as review_jobs

    day = _date_option(as_of, "日期") or local_today()
    with _service_call() as db:
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

    _emit(as_json, payload, human)


# ---------------------------------------------------------------- reviews


@reviews_app.command(
    "import", help="导入省平台好差评数据（或 period,org,cases_handled 办件量；"
                   "或 org,case_no,completed_at 办件明细）。默认全部通过才导入。"
)
def reviews_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV 或 XLSX 文件")],
    skip_invalid: Annotated[Path | None, typer.Option(
        "--skip-invalid", help="导入有效行，把无效行及原因写入此 CSV")] = None,
    as_json: JsonOption = False,
) -> None:
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from tongban.core.tabular import open_table
    from tongban.reviews import service as reviews
    from tongban.reviews.service import checks

    empty = {"imported": 0, "skipped": 0}
    with _refusals(), _json_row_errors(as_json, empty):
        head = open_table(file, aliases={**checks.ALIASES, **reviews.HANDLED_ALIASES})
    if "completed_at" in head.header:
        with _service_call() as db, _json_row_errors(as_json, empty):
            handled = reviews.import_handled_cases(db, actor=SYSTEM_ACTOR, rows=head.rows,
                                                   filename=file.name)
        _emit(as_json, handled.as_dict(), lambda: console.print(
            f"已导入办件明细 {handled.imported} 件，跳过已有 {handled.skipped} 件"))
        return
    if "cases_handled" in head.header:
        with _service_call() as db, _json_row_errors(as_json, empty):
            changed = reviews.record_cases_handled(db, actor=SYSTEM_ACTOR, rows=head.rows,
                                                   filename=file.name)
        _emit(as_json, {"imported": changed, "skipped": 0, "errors": []},
              lambda: console.print(f"已导入办件量：{changed} 项有变更"))
        return
    rejects = reviews.open_rejects(skip_invalid) if skip_invalid else None
    imported = False
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err_console,
                      disable=as_json) as bar, _service_call() as db:
            task = bar.add_task("导入中…", total=None)
            with _json_row_errors(as_json, empty):
                result = reviews.import_reviews(
                    db, actor=SYSTEM_ACTOR, source=file, rejects=rejects, rejects_file=skip_invalid,
                    progress=lambda n: bar.update(task, description=f"已处理 {n:,} 行"))
        imported = True
    finally:
        if rejects is not None and skip_invalid is not None:
            rejects.close()
            if not imported:  # nothing went in: no half-written rejects file to mislead
                skip_invalid.unlink(missing_ok=True)
    rejected = f"；{result.error_count} 处错误的行已写入 {skip_invalid}" if result.error_count else ""
    _emit(as_json, {"imported": result.imported, "skipped": result.skipped,
                    **result.errors.as_dict()},
          lambda: console.print(
              f"已导入 {result.imported} 条评价，跳过已有 {result.skipped} 条，新开差评工单 "
              f"{result.cases_opened} 件{rejected}"))


@reviews_app.command("metrics", help="一个单位某月的评价指标，每个比率带分子和分母。")
def reviews_metrics(org: OrgOption, period: PeriodOption, as_json: JsonOption = False) -> None:
    from tongban.org import service as org_service
    from tongban.reviews import service as reviews

    with _service_call() as db:
        target = org_service.resolve_org(db, ref=org)
        payload = reviews.metrics(db, actor=SYSTEM_ACTOR, org=target, period=period)

    def human() -> None:
        labels = {"good_rate": "好评率", "bad_rate": "差评率", "satisfaction": "满意度指数",
                  "review_rate": "主动评价率", "ontime_rectification_rate": "差评按期整改率",
                  "named_callback_rate": "实名差评回访率"}
        console.print(f"{target.name} {period}：评价 {payload['reviews']} 条")
        for key, label in labels.items():
            rate = payload[key]
            value = "—" if rate["value"] is None else percent(rate["value"], 2)
            console.print(f"  {label} {value}（{rate['numerator']:g}/{rate['denominator']:g}）")

    _emit(as_json, payload, human)


@reviews_app.command("cases", help="差评工单，逾期的在前。")
def reviews_cases(
    org: OrgOption,
    state: Annotated[str | None, typer.Option(help="状态，如 received、rectifying、closed")] = None,
    as_json: JsonOption = False,
) -> None:
    from tongban.org import service as org_service
    from tongban.reviews import service as reviews
    from tongban.reviews.enums import CaseState

    try:
        wanted = CaseState(state) if state else None
    except ValueError as exc:
        err_console.print(f"[red]错误：未知状态「{state}」[/red]")
        raise typer.Exit(2) from exc
    with _service_call() as db:
        target = org_service.resolve_org(db, ref=org)
        today = local_today()
        rows = [{"id": c.id, "review_source_id": c.review.source_id, "state": c.state,
                 "callback_due": c.callback_due.isoformat(),
                 "rectify_due": c.rectify_due.isoformat(),
                 "overdue": reviews.is_overdue(c, as_of=today)}
                for c in reviews.list_cases(db, actor=SYSTEM_ACTOR, org=target, state=wanted)]

    def human() -> None:
        for r in rows:
            console.print(f"#{r['id']} {r['state']} 回访期限 {r['callback_due']} 整改期限 "
                          f"{r['rectify_due']}" + ("（逾期）" if r["overdue"] else ""))

    _emit(as_json, rows, human)


@reviews_app.command("code", help="生成评价链接和二维码（张贴于窗口、印在回执上或随短信发送）。")
def reviews_code(
    org: OrgOption,
    item: Annotated[str, typer.Option(help="事项编码（选填）")] = "",
    case: Annotated[str, typer.Option(help="办件编号（选填）")] = "",
    channel: Annotated[str, typer.Option(
        help="渠道：window、kiosk、website、app、miniprogram、sms")] = "window",
    out: Annotated[Path | None, typer.Option(help="把二维码写入此文件（.svg 或 .png）")] = None,
    as_json: JsonOption = False,
) -> None:
    from tongban.org import service as org_service
    from tongban.reviews import service as reviews
    from tongban.reviews.enums import Channel

    if channel not in Channel.__members__:
        err_console.print(f"[red]错误：未知渠道「{channel}」[/red]")
        raise typer.Exit(2)
    if out is not None and out.suffix.lower() not in (".svg", ".png"):
        err_console.print("[red]错误：二维码文件须为 .svg 或 .png[/red]")
        raise typer.Exit(2)
    with _service_call() as db:
        code = reviews.rating_code(db, actor=SYSTEM_ACTOR, org=org_service.resolve_org(db, ref=org),
                                   item_code=item, case_no=case, channel=Channel(channel))
    if out is not None:
        if out.suffix.lower() == ".svg":
            out.write_text(code.svg(), encoding="utf-8")
        else:
            out.write_bytes(code.png())
    _emit(as_json, {"org_code": code.org.code, "org_name": code.org.name, "link": code.link,
                    "file": str(out) if out else None},
          lambda: console.print(f"{code.org.name} 评价链接：{code.link}"
                                + (f"\n二维码已写入 {out}" if out else ""), soft_wrap=True))


if __name__ == "__main__":
    app()


# ---------------------------------------------------------------- reports

OutOption = Annotated[Path, typer.Option("--out", help="把 Word、Excel、网页版写到此目录", file_okay=False)]


def _write_report(request: Any, out: Path, as_json: bool) -> None:
    from tongban.reports import service as reports
    from tongban.reports.enums import ReportFormat

    with _service_call() as db:
        report, created = reports.generate(db, actor=SYSTEM_ACTOR, request=request)
    with _service_call() as db:  # the files take their archive names once the report commits
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

    _emit(as_json, payload, human)


@report_app.command("weekly", help="周通报：截至该日前一周的整改、差评、风险分值、预警和全省排名。")
def report_weekly(
    as_of: Annotated[str | None, typer.Option(help="通报日期 YYYY-MM-DD（默认今天），统计其前7天")] = None,
    out: OutOption = Path("reports"),
    as_json: JsonOption = False,
) -> None:
    from tongban.reports.enums import ReportKind
    from tongban.reports.service import ReportRequest

    day = _date_option(as_of, "日期") or local_today()
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
def report_list(as_json: JsonOption = False) -> None:
    from tongban.reports import service as reports
    from tongban.reports.enums import ReportKind, ReportTrigger

    with _service_call() as db:
        found = reports.list_reports(db, actor=SYSTEM_ACTOR)
        rows: list[dict[str, Any]] = [{"id": r.id, "kind": r.kind, "title": r.title, "period": r.period_key,
                 "scope": r.scope, "trigger": r.trigger, "generated_at": r.generated_at,
                 "files": {f.format: f.sha256 for f in r.files}, "intact": reports.verify(r)}
                for r in found]

    def human() -> None:
        from tongban.core.templating import local_time

        table = Table("编号", "类型", "标题", "期间", "生成方式", "生成时间", "文件完好")
        for row in rows:
            table.add_row(str(row["id"]), ReportKind(row["kind"]).label, row["title"], row["period"],
                          ReportTrigger(row["trigger"]).label,
                          local_time(row["generated_at"]),
                          "是" if all(row["intact"].values()) else "否")
        console.print(table)

    _emit(as_json, rows, human)

