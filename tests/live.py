"""A live ``tongban serve`` process for the tests that need a real server (browser tests, the
burst test on PostgreSQL, several instances)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
TONGBAN = [sys.executable, "-m", "tongban.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str, folder: Path, env: dict[str, str]) -> dict[str, str]:
    """The settings of a test server on ``database_url`` (its files under ``folder``)."""
    return {**os.environ, "TONGBAN_DATABASE_URL": database_url,
            "TONGBAN_ENV": "development", "TONGBAN_STATIC_VENDOR_DIR": str(ROOT / "node_modules"),
            "TONGBAN_REPORT_DIR": str(folder / "reports"), **env}


def prepare(env: dict[str, str], *, demo: bool) -> None:
    """Migrate the database, and load the demo's data when ``demo``."""
    for command in (["db", "upgrade"], ["demo", "load"]) if demo else (["db", "upgrade"],):
        subprocess.run([*TONGBAN, *command], env=env, check=True, capture_output=True)


@contextmanager
def running(env: dict[str, str], *, command: tuple[str, ...] = ("serve",),
            timeout: float = 30) -> Iterator[str]:
    """``tongban serve`` (or ``command``) on a free port with ``env``; its base URL while the
    block runs, after ``/healthz`` answered."""
    port = free_port()
    process = subprocess.Popen([*TONGBAN, *command, "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail(f"服务未能在{timeout:.0f}秒内启动")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail("服务收到 SIGTERM 后10秒内未退出")


@contextmanager
def serve(db_path: Path, *, demo: bool, env: dict[str, str]) -> Iterator[str]:
    """``tongban serve`` on a free port over a fresh SQLite database (with the demo's data or
    none), ``env`` added to its settings; the base URL while the block runs."""
    settings = server_env(f"sqlite:///{db_path}", db_path.parent, env)
    prepare(settings, demo=demo)
    with running(settings) as base:
        yield base
