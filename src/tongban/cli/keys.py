"""``tongban keys``: the data keys that encrypt personal data."""

from __future__ import annotations

import sys

import typer

from tongban.cli.options import JsonOption
from tongban.cli.output import console, emit
from tongban.cli.session import service_call
from tongban.core.security import SYSTEM_ACTOR

keys_app = typer.Typer(help="数据密钥：加密个人信息（电话号码）的密钥，生成与更换。", no_args_is_help=True)


@keys_app.command("generate", help="生成一个新的数据密钥（放在 TONGBAN_DATA_KEYS 最前，旧密钥保留在后）。")
def keys_generate() -> None:
    from tongban.core import privacy

    sys.stdout.write(privacy.new_data_key() + "\n")


@keys_app.command("rotate", help="用最新的数据密钥重新加密全部已存的个人信息；之后可删去旧密钥。")
def keys_rotate(as_json: JsonOption = False) -> None:
    from tongban.errand import service as errand
    from tongban.reviews import service as reviews

    with service_call() as db:
        rotated = reviews.rotate_personal_data(db, actor=SYSTEM_ACTOR)
        rotated += errand.rotate_personal_data(db, actor=SYSTEM_ACTOR)
    emit(as_json, {"rotated": rotated},
         lambda: console.print(f"已用最新密钥重新加密 {rotated} 个电话号码；"
                               "旧密钥现可从 TONGBAN_DATA_KEYS 删去"))


@keys_app.command("check", help="检查现有密钥能否解密已存的个人信息（抽查最新的记录）。")
def keys_check(as_json: JsonOption = False) -> None:
    from tongban.errand import service as errand
    from tongban.reviews import service as reviews

    with service_call() as db:
        unreadable = reviews.unreadable_personal_data(db, sample=1000) \
            + errand.unreadable_personal_data(db, sample=1000)
    emit(as_json, {"unreadable": unreadable},
         lambda: console.print("[green]数据密钥正常[/green]" if not unreadable else
                               f"[red]{unreadable} 条个人信息无法用现有密钥解密[/red]"))
    if unreadable:
        raise typer.Exit(1)
