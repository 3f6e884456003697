"""``tongban catalog``: the service-item catalog (事项目录)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tongban.cli.options import JsonOption, PageOption, PageSizeOption, list_params
from tongban.cli.output import console, emit, emit_page
from tongban.cli.session import json_row_errors, service_call
from tongban.core.security import SYSTEM_ACTOR

catalog_app = typer.Typer(help="事项目录：导入和查询一地的政务服务事项（实施编码、名称、部门、类型）。",
                          no_args_is_help=True)


@catalog_app.command("import", help="导入事项清单（CSV/XLSX：实施编码、事项名称、实施部门、事项类型…）。")
def catalog_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV 或 XLSX 文件")],
    org: Annotated[str, typer.Option(help="清单所属单位（名称或区划代码），如 巴中市")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只说将新增、更新、删除哪些事项，不写入")]
    = False,
    as_json: JsonOption = False,
) -> None:
    from tongban.catalog import service as catalog
    from tongban.org import service as org_service

    with service_call() as db, json_row_errors(as_json, {"added": 0, "changed": 0,
                                                         "unchanged": 0, "removed": 0}):
        owner = org_service.resolve_org(db, ref=org)
        result = catalog.import_items(db, actor=SYSTEM_ACTOR, org=owner, source=file,
                                      dry_run=dry_run)
    emit(as_json, result.details(), lambda: console.print(result.summary()))


@catalog_app.command("list", help="查询事项：名称含关键词或编码以其开头。")
def catalog_list(
    q: Annotated[str, typer.Option(help="关键词或编码")] = "",
    department: Annotated[str, typer.Option(help="实施部门")] = "",
    page: PageOption = 1,
    page_size: PageSizeOption = None,
    as_json: JsonOption = False,
) -> None:
    from tongban.catalog import service as catalog
    from tongban.catalog.enums import ItemType

    with service_call() as db:
        found = catalog.search_items(
            db, actor=SYSTEM_ACTOR, department=department,
            params=list_params(page, page_size, q)).map(
            lambda i: {"impl_code": i.impl_code, "base_code": i.base_code, "name": i.name,
                       "department": i.department, "item_type": ItemType(i.item_type).label})

    def human() -> None:
        table = Table("实施编码", "事项名称", "实施部门", "类型", title=f"共 {found.total} 项")
        for r in found.items:
            table.add_row(r["impl_code"], r["name"], r["department"], r["item_type"])
        console.print(table)

    emit_page(as_json, found, human)
