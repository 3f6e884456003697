"""``tongban db``: migrations and reference data."""

from __future__ import annotations

import typer

from tongban.cli.options import JsonOption
from tongban.cli.output import console, emit
from tongban.cli.session import service_call
from tongban.core.db import upgrade_schema

db_app = typer.Typer(help="数据库：建表、迁移、加载参考数据。", no_args_is_help=True)


@db_app.command(
    "upgrade", help="迁移数据库到最新版本并加载本地区的区划参考数据（TONGBAN_CITY_CODE "
                    "所在省的各市及本市县乡、全省各市分组）和随产品提供的台账类型。可重复执行。"
)
def db_upgrade(as_json: JsonOption = False) -> None:
    upgrade_schema()
    from tongban.core.db import schema_revision
    from tongban.ledger import service as ledger_service
    from tongban.org import service as org_service

    revision = schema_revision()
    with service_call() as db:
        loaded = org_service.load_reference_divisions(db)
        ledgers = ledger_service.load_shipped_types(db)
    emit(
        as_json,
        {"revision": revision, "created": loaded.created, "updated": loaded.updated,
         "unchanged": loaded.unchanged, "ledger_types": sum(1 for t in ledgers if t.new)},
        lambda: console.print(
            f"数据库已是最新版本 {revision}；区划参考数据：新增 {loaded.created}，"
            f"更新 {loaded.updated}，未变 {loaded.unchanged}；"
            f"新加载台账类型 {sum(1 for t in ledgers if t.new)} 个"
        ),
    )
