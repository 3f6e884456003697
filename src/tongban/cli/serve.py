"""``tongban serve``: the web pages and the API."""

from __future__ import annotations

from typing import Annotated

import typer

from tongban.cli.output import err_console
from tongban.core.config import get_settings

#: Mounted without a name: its one command, ``serve``, sits at the root.
serve_app = typer.Typer()


@serve_app.command(help="启动网页与 API 服务（默认 http://127.0.0.1:8000）。")
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
