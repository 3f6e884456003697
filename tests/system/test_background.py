"""Background work: one process runs it (a lock file on SQLite, an advisory lock on
PostgreSQL), at the configured Beijing times, every domain's jobs in short transactions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import DEFAULT_PG_URL
from tongban.core import background
from tongban.core.config import get_settings
from tongban.system.jobs import scheduler, times_of


def test_a_second_process_on_one_sqlite_file_does_not_get_the_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'city.db'}"
    first = background.acquire(url)
    assert first.held and first.description.endswith("city.db.lock")
    second = background.acquire(url)
    assert not second.held and f"进程 {os.getpid()}" in second.description
    first.release()
    third = background.acquire(url)
    assert third.held
    third.release()
    assert background.lock_file_of("sqlite://") is None  # in memory: nobody else to refuse


def test_a_second_server_on_the_same_sqlite_database_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'city.db'}"
    held = background.acquire(url)
    try:
        refused = subprocess.run(
            [sys.executable, "-m", "tongban.cli", "serve", "--port", "8765"],
            env={**os.environ, "TONGBAN_DATABASE_URL": url, "COLUMNS": "400"},
            capture_output=True, text=True,
            timeout=60)
    finally:
        held.release()
    assert refused.returncode == 1
    assert "已有一个通办服务在使用该 SQLite 数据库" in refused.stderr


def test_one_postgresql_instance_takes_the_advisory_lock() -> None:
    url = os.environ.get("TONGBAN_TEST_POSTGRES_URL", DEFAULT_PG_URL)
    try:
        with create_engine(url).connect() as probe:
            probe.execute(text("SELECT 1"))
    except Exception:
        if os.environ.get("TONGBAN_REQUIRE_POSTGRES") in {"1", "true", "yes"}:
            raise
        pytest.skip("PostgreSQL 不可用")
    first = background.acquire(url)
    second = background.acquire(url)
    try:
        assert first.held and not second.held
        assert "另一实例" in second.description
    finally:
        first.release()
    again = background.acquire(url)
    assert again.held
    again.release()


def test_jobs_run_at_the_configured_beijing_times(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_JOBS_AT", "07:30, 13:05")
    get_settings.cache_clear()
    jobs = scheduler()
    assert sorted(job.id for job in jobs.get_jobs()) == ["daily-0730", "daily-1305"]
    trigger = next(j for j in jobs.get_jobs() if j.id == "daily-1305").trigger
    fields = {f.name: str(f) for f in trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("13", "5")
    assert str(trigger.timezone) == "Asia/Shanghai"


@pytest.mark.parametrize("bad", ["7.30", "24:00", "07:60", "noon"])
def test_a_wrong_job_time_is_refused_by_name(bad: str) -> None:
    with pytest.raises(ValueError, match=bad.replace(".", r"\.")):
        times_of(f"07:30,{bad}")
