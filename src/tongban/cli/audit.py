"""``tongban audit``: the hash-chained audit log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tongban.cli.options import JsonOption
from tongban.cli.output import console, emit, err_console
from tongban.cli.session import service_call
from tongban.core import audit
from tongban.core.errors import DomainError
from tongban.core.security import SYSTEM_ACTOR

audit_app = typer.Typer(help="审计日志。", no_args_is_help=True)


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
    with service_call() as db:
        report = audit.verify(db, actor=SYSTEM_ACTOR)
        missing = audit.check_checkpoint(db, saved=saved) if saved else None
    brk = report.first_break
    emit(
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
    with service_call() as db:
        head = audit.checkpoint(db)
    out.write_text(json.dumps(head.as_dict(), ensure_ascii=False, indent=2) + "\n",
                   encoding="utf-8")
    emit(as_json, {**head.as_dict(), "file": str(out.resolve())},
         lambda: console.print(f"检查点已写入 {out}：共 {head.count} 条，最后一条为第 {head.last_id} 号"))
