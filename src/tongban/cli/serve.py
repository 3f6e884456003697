"""``tongban serve``: the web pages and the API."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
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
    with background_work(server=True):
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


@serve_app.command(help="只运行后台定时任务（多实例部署时单独起一个进程；与服务进程互斥）。")
def worker() -> None:
    with background_work(server=False) as running:
        if not running:
            raise typer.Exit(1)
        err_console.print("后台任务进程已启动，按 Ctrl+C 结束。")
        with suppress(KeyboardInterrupt):
            threading.Event().wait()


@contextmanager
def background_work(*, server: bool) -> Iterator[bool]:
    """Take the background lock and run the scheduler, the outbox's courier and the errand
    dispatcher while the block runs; whether they run.

    On SQLite a second server is refused (exit 1); on PostgreSQL an instance without the
    lock serves without background work."""
    from tongban.core import background
    from tongban.system.jobs import scheduler

    settings = get_settings()
    if not settings.background_jobs:
        yield False
        return
    lock = background.acquire(settings.database_url)
    if not lock.held:
        if server and settings.is_sqlite:
            err_console.print(f"[red]已有一个通办服务在使用该 SQLite 数据库：{lock.description}。"
                              "SQLite 只能由一个服务进程使用；多实例请用 PostgreSQL。[/red]")
            raise typer.Exit(1)
        err_console.print(f"后台任务由另一个进程运行（{lock.description}），本进程不运行。")
        yield False
        return
    import tongban.app  # noqa: F401  (every domain, so every outbox handler, is registered)
    from tongban.core.outbox import Courier

    jobs = scheduler()
    jobs.start()
    courier = Courier(interval=settings.outbox_seconds)
    courier.start()
    dispatcher = None
    if settings.errand_dispatch_seconds:
        from tongban.errand.dispatcher import Dispatcher

        dispatcher = Dispatcher(interval=settings.errand_dispatch_seconds)
        dispatcher.start()
    try:
        yield True
    finally:
        if dispatcher is not None:
            dispatcher.stop()
        courier.stop()
        jobs.shutdown(wait=False)
        lock.release()
