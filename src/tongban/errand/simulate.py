"""A simulated day of 跑团 over the demo city's geography, to compare how errands find
runners: the live dispatcher's cost on the same solver (``dispatch``), runners grabbing from
the pool (``grab``) and nearest-first (``greedy``).

Every mode sees the same arrivals and the same runners (one seed): requests arrive as a
Poisson process (N arrival times uniform over T minutes), mostly in the county towns around
the seats; runners start spread over their county. A runner who takes an errand rides to
the pickup at ``speed_kmh``, spends ``handling_minutes`` at the hall and is free again at
the county seat. Time moves in ticks of the dispatch interval; the run ends when the last
request had ``sla_minutes`` to be taken.

- dispatch: each tick, the open errands against the free runners (:func:`dispatch.assign`
  on :class:`dispatcher.CostModel`); an offer is accepted with probability ``accept_rate``,
  else declined (that runner is not offered the errand again).
- grab: an open errand is seen by the free runners within the radius; each grabs in a tick
  with a probability that falls with distance (a reaction delay of ``reaction_seconds``
  scaled by 1 + 2 d/R); the first to react wins.
- greedy: each tick, errands oldest first take their nearest free runner.

Per mode: ``assignment_rate`` (taken ÷ requests), ``mean_pickup_km``, ``late_share``
(errands not finished within ``sla_minutes`` of arrival, untaken ones included),
``workload_gini`` (of errands per runner), ``solve_ms_p50`` / ``solve_ms_p99`` (one tick's
decision time).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tongban.core.numbers import gini
from tongban.errand.dispatch import (
    KM_PER_DEGREE,
    ErrandPoint,
    Pairs,
    RunnerPoint,
    assign,
    candidate_pairs,
    greedy,
)
from tongban.errand.dispatcher import CostModel

MODES = ("dispatch", "grab", "greedy")

#: The demo city's county seats (巴中, approximate): division code, name, lat, lng, share of
#: requests.
SEATS: tuple[tuple[str, str, float, float, float], ...] = (
    ("511902", "巴州区", 31.867, 106.747, 0.30),
    ("511903", "恩阳区", 31.787, 106.636, 0.15),
    ("511921", "通江县", 31.912, 107.245, 0.20),
    ("511922", "南江县", 32.346, 106.828, 0.18),
    ("511923", "平昌县", 31.560, 107.104, 0.17),
)
#: How far (1 σ, km) requests fall from the seat (the towns) and runners start (the county).
REQUEST_SPREAD_KM = 3.0
RUNNER_SPREAD_KM = 6.5


def scatter(rng: random.Random, lat: float, lng: float, spread_km: float) -> tuple[float, float]:
    """A point around (lat, lng), normally spread ``spread_km`` in each direction."""
    dlat = rng.gauss(0.0, spread_km) / KM_PER_DEGREE
    dlng = rng.gauss(0.0, spread_km) / (KM_PER_DEGREE * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lng + dlng, 6)


def pick_seat(rng: random.Random) -> tuple[float, float]:
    """A county seat, drawn by its share of requests."""
    _, _, lat, lng, _ = rng.choices(SEATS, weights=[s[4] for s in SEATS])[0]
    return lat, lng


@dataclass
class Scenario:
    requests: int
    runners: int
    minutes: float
    seed: int = 1
    tick_seconds: float = 10.0
    radius_km: float = 5.0
    sla_minutes: float = 180.0
    speed_kmh: float = 15.0
    handling_minutes: float = 60.0
    accept_rate: float = 0.9
    reaction_seconds: float = 20.0


@dataclass
class _Request:
    id: int
    at: float  # minutes
    lat: float
    lng: float
    seat: tuple[float, float]


@dataclass
class _Runner:
    id: int
    lat: float
    lng: float
    free_at: float = 0.0
    taken: int = 0


@dataclass
class ModeResult:
    assigned: int = 0
    pickup_km: list[float] = field(default_factory=list)
    late: int = 0
    solve_ms: list[float] = field(default_factory=list)

    def summary(self, scenario: Scenario, loads: list[int]) -> dict[str, Any]:
        return {
            "assignment_rate": round(self.assigned / scenario.requests, 4)
            if scenario.requests else 0.0,
            "mean_pickup_km": round(float(np.mean(self.pickup_km)), 4) if self.pickup_km else 0.0,
            "late_share": round(self.late / scenario.requests, 4) if scenario.requests else 0.0,
            "workload_gini": round(gini(loads), 4),
            "solve_ms_p50": round(float(np.percentile(self.solve_ms, 50)), 3)
            if self.solve_ms else 0.0,
            "solve_ms_p99": round(float(np.percentile(self.solve_ms, 99)), 3)
            if self.solve_ms else 0.0,
        }


def _world(scenario: Scenario) -> tuple[list[_Request], list[tuple[float, float]]]:
    rng = random.Random(scenario.seed)
    times = sorted(rng.uniform(0, scenario.minutes) for _ in range(scenario.requests))
    requests = []
    for n, at in enumerate(times):
        lat, lng = pick_seat(rng)
        point = scatter(rng, lat, lng, REQUEST_SPREAD_KM)
        requests.append(_Request(n, at, point[0], point[1], (lat, lng)))
    runners = []
    for _ in range(scenario.runners):
        lat, lng = pick_seat(rng)
        runners.append(scatter(rng, lat, lng, RUNNER_SPREAD_KM))
    return requests, runners


def run_mode(scenario: Scenario, mode: str) -> dict[str, Any]:
    """One mode over the scenario's world (the same for every mode)."""
    requests, starts = _world(scenario)
    runners = [_Runner(n, lat, lng) for n, (lat, lng) in enumerate(starts)]
    rng = random.Random(scenario.seed * 7919 + MODES.index(mode))
    model = CostModel(speed_kmh=scenario.speed_kmh, handling_minutes=scenario.handling_minutes)
    result = ModeResult()
    tick = scenario.tick_seconds / 60.0
    horizon = scenario.minutes + scenario.sla_minutes
    open_: list[_Request] = []
    refused: set[tuple[int, int]] = set()
    arrived = 0
    now = 0.0
    while now <= horizon and (arrived < len(requests) or open_):
        while arrived < len(requests) and requests[arrived].at <= now:
            open_.append(requests[arrived])
            arrived += 1
        free = [r for r in runners if r.free_at <= now]
        if open_ and free:
            started = time.perf_counter()
            taken = _decide(mode, open_, free, now=now, scenario=scenario, model=model,
                            rng=rng, refused=refused)
            result.solve_ms.append((time.perf_counter() - started) * 1000)
            for request, runner, km in taken:
                eta = km / scenario.speed_kmh * 60
                finish = now + eta + scenario.handling_minutes
                runner.free_at = finish
                runner.lat, runner.lng = request.seat
                runner.taken += 1
                result.assigned += 1
                result.pickup_km.append(km)
                if finish > request.at + scenario.sla_minutes:
                    result.late += 1
            done = {id(t[0]) for t in taken}
            open_ = [r for r in open_ if id(r) not in done]
        now += tick
    result.late += len(open_) + (len(requests) - arrived)
    return result.summary(scenario, [r.taken for r in runners])


def _decide(mode: str, open_: list[_Request], free: list[_Runner], *, now: float,
            scenario: Scenario, model: CostModel, rng: random.Random,
            refused: set[tuple[int, int]]) -> list[tuple[_Request, _Runner, float]]:
    points = [RunnerPoint(str(r.id), r.lat, r.lng, 1) for r in free]
    wanted = [ErrandPoint(str(q.id), q.lat, q.lng) for q in open_]
    if mode == "greedy":  # oldest errand first, nearest free runner: the solver's baseline
        request_of = {str(q.id): q for q in open_}
        runner_of = {str(r.id): r for r in free}
        return [(request_of[a.errand_id], runner_of[a.runner_id], a.distance_km)
                for a in greedy(points, wanted, radius_km=scenario.radius_km).assignments]
    if mode == "grab":
        pairs = candidate_pairs(points, wanted, scenario.radius_km)
        fire = rng.random
        reacted: list[tuple[float, int, int, float]] = []
        tick_s = scenario.tick_seconds
        for e, r, km in zip(pairs.errand.tolist(), pairs.runner.tolist(), pairs.km.tolist(),
                            strict=True):
            mean = scenario.reaction_seconds * (1 + 2 * km / scenario.radius_km)
            if fire() < 1 - math.exp(-tick_s / mean):
                reacted.append((fire() * tick_s, e, r, km))
        reacted.sort()
        won: set[int] = set()
        busy: set[int] = set()
        out = []
        for _, e, r, km in reacted:
            if e in won or r in busy:
                continue  # 已被抢, or the runner is on another errand now
            won.add(e)
            busy.add(r)
            out.append((open_[e], free[r], km))
        return out
    # dispatch: the live cost on the same solver; offers accepted or declined
    pairs = candidate_pairs(points, wanted, scenario.radius_km, nearest=16)
    keep = np.fromiter(((open_[e].id, free[r].id) not in refused
                        for e, r in zip(pairs.errand.tolist(), pairs.runner.tolist(),
                                        strict=True)), bool, len(pairs))
    pairs = Pairs(pairs.errand[keep], pairs.runner[keep], pairs.km[keep])
    slack = np.array([q.at + scenario.sla_minutes - now for q in open_])
    zeros = np.zeros(len(pairs))
    cost = model.pair_costs(km=pairs.km, slack_minutes=slack[pairs.errand], load=zeros,
                            rating=zeros + 5.0, declines=zeros)
    age = np.array([now - q.at for q in open_])
    chosen = assign(len(open_), [1] * len(free), pairs, cost, model.waiting(age))
    km_of = {(int(e), int(r)): float(k) for e, r, k in zip(pairs.errand, pairs.runner, pairs.km,
                                                          strict=True)}
    out = []
    for e, r in chosen.items():
        if rng.random() < scenario.accept_rate:
            out.append((open_[e], free[r], km_of[(e, r)]))
        else:
            refused.add((open_[e].id, free[r].id))
    return out


def simulate(scenario: Scenario, modes: tuple[str, ...] = MODES) -> dict[str, Any]:
    """Every mode over the same world; the CLI's JSON."""
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"未知的模式：{'、'.join(unknown)}；可选：{'、'.join(MODES)}")
    return {"requests": scenario.requests, "runners": scenario.runners,
            "minutes": scenario.minutes, "seed": scenario.seed,
            "modes": {mode: run_mode(scenario, mode) for mode in modes}}
