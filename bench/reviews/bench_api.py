"""Benchmark: the public single-review API under 50 concurrent clients, on loopback.

Starts ``tongban serve`` (one Uvicorn worker, as ``make run`` does) on a fresh database in a
child process, then 50 clients post ratings — every one a new visit, so each is stored and, for
差评, opens a case. Two runs:

  bounded    each client posts every ``--interval`` seconds (with jitter): 50 clients at 0.5 s
             is 100 ratings a second, far above a city's peak; latency percentiles as the
             clients see them. This is the run the target is about.
  saturated  each client posts again as soon as its answer arrives: the throughput ceiling
             (latency there is only queueing: 50 ÷ throughput).

The clients run in this process on the same 2-core machine, so the figures include their own
share of the CPU.

    .venv/bin/python bench/reviews/bench_api.py --requests 5000
    .venv/bin/python bench/reviews/bench_api.py --requests 5000 --postgres URL

Target (issue #4): p95 ≤ 20 ms with 50 concurrent clients.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx2
from sqlalchemy import select
from sqlalchemy.orm import Session

os.environ.setdefault("TONGBAN_ENV", "test")
# 60 counties to score: the whole province's tree, as a provincial deployment holds it
os.environ.setdefault("TONGBAN_REFERENCE_SCOPE", "province")

import tongban.metrics_registry  # noqa: F401  (every feeder's metrics declared)
from tongban.core import db as core_db
from tongban.core.config import get_settings
from tongban.org import service as org_service
from tongban.org.models import Org

CLIENTS = 50
CHANNELS = ["窗口", "网站", "APP", "小程序", "自助终端", "12345", "短信"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(url: str) -> list[str]:
    engine = core_db.make_engine(url)
    core_db.upgrade_schema(engine)
    with Session(engine) as db:
        org_service.load_reference_divisions(db)
        db.commit()
        # Public ratings are taken for the city's own orgs only (TONGBAN_CITY_CODE).
        city = db.scalars(select(Org).where(Org.code == get_settings().city_code)).one()
        codes = list(db.scalars(select(Org.code).where(Org.path.startswith(city.path),
                                                       Org.id != city.id)
                                .order_by(Org.path).limit(60)))
    engine.dispose()
    return codes


async def load(base: str, codes: list[str], total: int, warmup: int,
               interval: float, offset: int) -> list[float]:
    rng = random.Random(5)
    counter = iter(range(offset, offset + total + warmup))
    latencies: list[float] = []
    failures: list[str] = []

    async def client(http: httpx2.AsyncClient) -> None:
        for n in counter:
            level = rng.choices([5, 4, 3, 2, 1], weights=[80, 12, 5, 2, 1])[0]
            body = {"source_id": f"api{n:08d}", "channel": rng.choice(CHANNELS),
                    "org": rng.choice(codes), "case_no": f"C{n:08d}", "level": level,
                    "tags": ["办事效率"] if level <= 2 else [], "rated_at": "2026-11-02 10:00"}
            start = time.perf_counter()
            response = await http.post(f"{base}/api/v1/reviews", json=body)
            elapsed = time.perf_counter() - start
            if interval:
                await asyncio.sleep(max(0.0, interval * rng.uniform(0.5, 1.5) - elapsed))
            if response.status_code != 201:
                failures.append(f"{response.status_code}: {response.text[:200]}")
            elif n - offset >= warmup:
                latencies.append(elapsed)

    limits = httpx2.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx2.AsyncClient(limits=limits, timeout=30) as http:
        await asyncio.gather(*(client(http) for _ in range(CLIENTS)))
    if failures:
        print(f"  {len(failures)} requests failed, e.g. {failures[0]}")
    return latencies


def percentiles(latencies: list[float], wall: float) -> dict[str, float]:
    ordered = sorted(latencies)
    return {"n": len(ordered), "p50": statistics.median(ordered),
            "p95": ordered[int(len(ordered) * 0.95) - 1],
            "p99": ordered[int(len(ordered) * 0.99) - 1], "rps": len(ordered) / wall}


def run(url: str, total: int, interval: float) -> dict[str, dict[str, float]]:
    codes = prepare(url)
    port = free_port()
    # One address sends for all fifty clients: the limits per client and per org are lifted,
    # so that what is measured is the path of a rating, not the refusal of one.
    env = {**os.environ, "TONGBAN_DATABASE_URL": url, "TONGBAN_ENV": "test",
           "TONGBAN_REVIEW_RATE_PER_CLIENT": "1000000000", "TONGBAN_REVIEW_RATE_PER_ORG": "1000000000"}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("tongban")), "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    out: dict[str, dict[str, float]] = {}
    try:
        for _ in range(100):
            try:
                if httpx2.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            time.sleep(0.2)
        for name, pace, offset in (("bounded", interval, 0), ("saturated", 0.0, 10**6)):
            start = time.perf_counter()
            latencies = asyncio.run(load(base, codes, total, warmup=200, interval=pace,
                                         offset=offset))
            out[name] = percentiles(latencies, time.perf_counter() - start)
    finally:
        server.terminate()
        server.wait(10)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--interval", type=float, default=0.5,
                        help="seconds between one client's requests in the bounded run")
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server")
    args = parser.parse_args()
    with core_db.scratch_database(args.postgres) as url:
        result = run(url, args.requests, args.interval)
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{backend}: single-review POSTs from {CLIENTS} concurrent clients")
    for name, r in result.items():
        print(f"  {name:9} {int(r['n']):6,} requests, {r['rps']:5.0f}/s: latency "
              f"p50 {r['p50'] * 1000:.1f} ms, p95 {r['p95'] * 1000:.1f} ms, "
              f"p99 {r['p99'] * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
