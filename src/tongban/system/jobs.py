"""The scheduled work of every domain: run by ``tongban jobs run`` and, inside the server
(or ``tongban worker``), by the scheduler at the configured times.

Each domain's jobs commit in a transaction of their own, so web writes never wait on one long
transaction; every job is idempotent (the same day twice reminds and deducts nothing twice).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from tongban.benchmark import jobs as benchmark_jobs
from tongban.core import outbox, ratelimit
from tongban.core.config import get_settings
from tongban.core.db import session_scope
from tongban.core.workdays import local_today, local_zone
from tongban.datasharing import jobs as datasharing_jobs
from tongban.errand import jobs as errand_jobs
from tongban.ledger import jobs as ledger_jobs
from tongban.rectification import jobs as rectification_jobs
from tongban.reports import jobs as report_jobs
from tongban.reviews import jobs as review_jobs

log = logging.getLogger("tongban.jobs")


def run_all(*, as_of: date) -> dict[str, Any]:
    """Every domain's jobs for ``as_of``, each in its own transaction."""
    steps: list[tuple[str, Callable[..., Any]]] = [
        ("rectification", lambda db: rectification_jobs.run(db, as_of=as_of).as_dict()),
        ("reviews", lambda db: review_jobs.run(db, as_of=as_of).as_dict()),
        ("errands", lambda db: errand_jobs.run(db, as_of=as_of).as_dict()),
        ("benchmark", lambda db: benchmark_jobs.run(db, as_of=as_of).as_dict()),
        # the pulls read the departments' sources with no transaction open, each recorded
        # in one of its own (the session given here stays unused)
        ("data_pulls", lambda _db: datasharing_jobs.pull(as_of=as_of).as_dict()),
        ("datasharing", lambda db: datasharing_jobs.run(db, as_of=as_of).as_dict()),
        ("ledgers", lambda db: ledger_jobs.run(db, as_of=as_of).as_dict()),
        # last: the bulletins and the leaders' digest read what the others just did
        ("reports", lambda db: report_jobs.run(db, as_of=as_of).as_dict()),
        ("rate_counters_removed", lambda db: ratelimit.purge(db)),
    ]
    out: dict[str, Any] = {"as_of": as_of.isoformat()}
    for name, step in steps:
        with session_scope() as db:
            out[name] = step(db)
    # what the jobs queued leaves now (where cron runs this command, nothing else sends it)
    out["outbox"] = outbox.deliver(limit=10_000).as_dict()
    return out


def _scheduled_run() -> None:
    try:
        result = run_all(as_of=local_today())
        log.info("定时任务完成：%s", result)
    except Exception:  # a failed run is logged; the next one tries again
        log.exception("定时任务失败")


def times_of(setting: str) -> list[tuple[int, int]]:
    """``"07:30,13:30"`` → [(7, 30), (13, 30)]; a wrong entry is refused by name."""
    times = []
    for part in (p.strip() for p in setting.split(",") if p.strip()):
        hour, _, minute = part.partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
            raise ValueError(f"TONGBAN_JOBS_AT 中的「{part}」应为 HH:MM")
        times.append((int(hour), int(minute)))
    return times


def scheduler() -> BackgroundScheduler:
    """A scheduler (not started) that runs :func:`run_all` at ``TONGBAN_JOBS_AT``, Beijing time."""
    found = BackgroundScheduler(timezone=local_zone())
    for hour, minute in times_of(get_settings().jobs_at):
        found.add_job(_scheduled_run, CronTrigger(hour=hour, minute=minute, timezone=local_zone()),
                      id=f"daily-{hour:02d}{minute:02d}", coalesce=True, max_instances=1,
                      misfire_grace_time=3600)
    return found
