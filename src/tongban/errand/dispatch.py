"""Batch matching of errands to runners: the most errands within the radius, then the least
total haversine distance, a runner of capacity k taking at most k.

Runners are expanded into capacity slots and matched by ``scipy.optimize.linear_sum_assignment``
on the pairs a grid index leaves (cells of the radius: only the 3 × 3 cells around an errand
can hold a runner within reach). A pair out of reach costs a penalty larger than any sum of
real distances, so a matching with more real pairs always costs less.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

EARTH_RADIUS_KM = 6371.0
#: Kilometres in a degree of latitude.
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180
#: Slack for the inclusive radius (floating point).
EPSILON_KM = 1e-9


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in km (R = 6371.0)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class RunnerPoint:
    runner_id: str
    lat: float
    lng: float
    capacity: int = 1


@dataclass(frozen=True)
class ErrandPoint:
    errand_id: str
    lat: float
    lng: float


@dataclass(frozen=True)
class Assignment:
    errand_id: str
    runner_id: str
    distance_km: float


@dataclass
class Solution:
    assignments: list[Assignment] = field(default_factory=list)
    unassigned: list[str] = field(default_factory=list)
    solve_ms: float = 0.0

    @property
    def total_distance_km(self) -> float:
        return sum(a.distance_km for a in self.assignments)

    def as_dict(self) -> dict[str, object]:
        """The CLI contract's shape."""
        return {
            "assignments": [{"errand_id": a.errand_id, "runner_id": a.runner_id,
                             "distance_km": round(a.distance_km, 6)} for a in self.assignments],
            "unassigned": self.unassigned,
            "assigned": len(self.assignments),
            "total_distance_km": round(self.total_distance_km, 6),
            "solve_ms": round(self.solve_ms, 3),
        }


def candidate_pairs(runners: Sequence[RunnerPoint], errands: Sequence[ErrandPoint],
                    radius_km: float) -> dict[int, list[tuple[int, float]]]:
    """errand index → [(runner index, distance km)] of the runners within ``radius_km``
    (inclusive), found through a grid of cells at least the radius wide."""
    pairs: dict[int, list[tuple[int, float]]] = defaultdict(list)
    if not runners or not errands:
        return pairs
    points: list[RunnerPoint | ErrandPoint] = [*runners, *errands]
    lats = [p.lat for p in points]
    widest = max(abs(min(lats)), abs(max(lats)))
    shrink = math.cos(math.radians(min(widest + radius_km / KM_PER_DEGREE, 90.0)))
    cell_lat = radius_km / KM_PER_DEGREE
    lngs = [p.lng for p in points]
    if shrink < 0.05 or cell_lat > 10 or max(lngs) - min(lngs) > 180:
        # Near a pole, for huge radii, or across the antimeridian: every pair.
        for e, errand in enumerate(errands):
            for r, runner in enumerate(runners):
                d = haversine_km(errand.lat, errand.lng, runner.lat, runner.lng)
                if d <= radius_km + EPSILON_KM:
                    pairs[e].append((r, d))
        return pairs
    cell_lng = cell_lat / shrink
    grid: dict[tuple[int, int], list[int]] = defaultdict(list)
    for r, runner in enumerate(runners):
        grid[(math.floor(runner.lat / cell_lat), math.floor(runner.lng / cell_lng))].append(r)
    for e, errand in enumerate(errands):
        row, col = math.floor(errand.lat / cell_lat), math.floor(errand.lng / cell_lng)
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                for r in grid.get((row + dr, col + dc), ()):
                    runner = runners[r]
                    d = haversine_km(errand.lat, errand.lng, runner.lat, runner.lng)
                    if d <= radius_km + EPSILON_KM:
                        pairs[e].append((r, d))
    return pairs


def solve(runners: Sequence[RunnerPoint], errands: Sequence[ErrandPoint], *,
          radius_km: float) -> Solution:
    """The optimum: the most errands assigned within the radius, then the least distance."""
    started = time.perf_counter()
    pairs = candidate_pairs(runners, errands, radius_km)
    rows = sorted(pairs)  # errands with at least one runner in reach
    used = sorted({r for e in rows for r, _ in pairs[e]})
    reach: dict[int, int] = defaultdict(int)
    for e in rows:
        for r, _ in pairs[e]:
            reach[r] += 1
    slots: list[int] = []  # slot → runner index
    for r in used:
        slots.extend([r] * min(max(runners[r].capacity, 0), reach[r]))
    solution = Solution()
    assigned: dict[int, tuple[int, float]] = {}
    if rows and slots:
        penalty = 2 * radius_km * len(rows) + 1.0
        cost = np.full((len(rows), len(slots)), penalty)
        first_slot: dict[int, list[int]] = defaultdict(list)
        for s, r in enumerate(slots):
            first_slot[r].append(s)
        row_of = {e: i for i, e in enumerate(rows)}
        for e in rows:
            for r, d in pairs[e]:
                cost[row_of[e], first_slot[r]] = d
        row_ind, col_ind = linear_sum_assignment(cost)
        for i, s in zip(row_ind, col_ind, strict=True):
            if cost[i, s] < penalty:
                assigned[rows[i]] = (slots[s], float(cost[i, s]))
    for e, errand in enumerate(errands):
        if e in assigned:
            r, d = assigned[e]
            solution.assignments.append(Assignment(errand.errand_id, runners[r].runner_id, d))
        else:
            solution.unassigned.append(errand.errand_id)
    solution.solve_ms = (time.perf_counter() - started) * 1000
    return solution
