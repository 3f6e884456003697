"""Batch matching of errands to runners: the solver every dispatch uses.

One cycle is a min-cost assignment of errands to runners' capacity slots on a pruned graph:

- Candidates come from a k-d tree of the runners on the unit sphere (chord length grows with
  great-circle distance, so a chord bound is the radius, inclusive), at most ``k`` nearest
  runners per errand. With ``k`` = the number of errands the pruning keeps an optimum (an
  errand matched outside its n nearest slots always finds one of them free); smaller ``k``
  is the live dispatcher's and the benchmark's, exact on the pruned graph.
- A runner of capacity c is c columns (never more than the errands that can reach it).
- Each errand has a column of its own for "not now": the penalty of leaving it unassigned
  (larger than any sum of real costs, so the count comes first) or, in the live dispatcher,
  the cheaper cost of postponing it to the next cycle.
- ``scipy.sparse.csgraph.min_weight_full_bipartite_matching`` (LAPJVsp) solves it exactly.

On files (``tongban errand dispatch``) the cost is the distance. The live cost (ETA, SLA
risk, workload, rating, recent declines) is :mod:`tongban.errand.dispatcher`'s.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import min_weight_full_bipartite_matching
from scipy.spatial import cKDTree

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


def haversine_many(lat1: np.ndarray, lng1: np.ndarray, lat2: np.ndarray,
                   lng2: np.ndarray) -> np.ndarray:
    """:func:`haversine_km` over arrays."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lng2 - lng1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    km: np.ndarray = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return km


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


@dataclass(frozen=True)
class Pairs:
    """Candidate pairs as parallel arrays: errand index, runner index, distance in km."""

    errand: np.ndarray
    runner: np.ndarray
    km: np.ndarray

    def __len__(self) -> int:
        return len(self.errand)


def _unit_xyz(lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
    phi, lam = np.radians(lat), np.radians(lng)
    return np.column_stack((np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)))


def candidate_pairs(runners: Sequence[RunnerPoint], errands: Sequence[ErrandPoint],
                    radius_km: float, *, nearest: int | None = None) -> Pairs:
    """The runners with a free slot within ``radius_km`` (inclusive) of each errand, at most
    ``nearest`` of them per errand (None: as many as there are errands, which keeps an
    optimum)."""
    empty = np.empty(0, dtype=np.int64)
    # a runner without a free slot takes nothing (and must not fill an errand's k nearest)
    able = np.flatnonzero(np.fromiter((r.capacity > 0 for r in runners), bool, len(runners)))
    if not len(able) or not errands:
        return Pairs(empty, empty, np.empty(0))
    r_lat = np.array([runners[int(i)].lat for i in able], dtype=float)
    r_lng = np.array([runners[int(i)].lng for i in able], dtype=float)
    e_lat = np.fromiter((e.lat for e in errands), float, len(errands))
    e_lng = np.fromiter((e.lng for e in errands), float, len(errands))
    k = min(len(able), nearest if nearest is not None else len(errands))
    # the chord of the radius, with room for rounding; the haversine below decides
    angle = min((radius_km + 1e-6) / EARTH_RADIUS_KM, math.pi)
    bound = 2 * math.sin(angle / 2) * (1 + 1e-9) + 1e-12
    tree = cKDTree(_unit_xyz(r_lat, r_lng))
    _, found = tree.query(_unit_xyz(e_lat, e_lng), k=max(k, 1), distance_upper_bound=bound)
    found = np.asarray(found).reshape(len(errands), -1)
    rows, cols = np.nonzero(found < len(able))
    local = found[rows, cols]
    km = haversine_many(e_lat[rows], e_lng[rows], r_lat[local], r_lng[local])
    keep = km <= radius_km + EPSILON_KM
    return Pairs(rows[keep].astype(np.int64), able[local[keep]].astype(np.int64), km[keep])


def assign(n_errands: int, capacity: Sequence[int], pairs: Pairs, cost: np.ndarray,
           not_now: np.ndarray) -> dict[int, int]:
    """errand index → runner index of the least-cost assignment, each errand matched to a
    runner's free slot (``capacity``) at ``cost`` or left for ``not_now[errand]``."""
    if n_errands == 0:
        return {}
    reach = np.bincount(pairs.runner, minlength=len(capacity)) if len(pairs) else \
        np.zeros(len(capacity), dtype=np.int64)
    slots = np.minimum(np.maximum(np.asarray(capacity, dtype=np.int64), 0), reach)
    first = np.concatenate(([0], np.cumsum(slots)))  # runner → its first slot column
    n_slots = int(first[-1])
    # every slot of a pair's runner is a column of the errand's row
    per_pair = slots[pairs.runner]
    rows = np.repeat(pairs.errand, per_pair)
    offsets = np.arange(int(per_pair.sum())) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
    cols = np.repeat(first[pairs.runner], per_pair) + offsets
    values = np.repeat(np.asarray(cost, dtype=float), per_pair)
    # one "not now" column per errand; costs shifted by 1 (an explicit zero is no edge)
    rows = np.concatenate((rows, np.arange(n_errands)))
    cols = np.concatenate((cols, n_slots + np.arange(n_errands)))
    values = np.concatenate((values, np.asarray(not_now, dtype=float))) + 1.0
    graph = csr_matrix((values, (rows, cols)), shape=(n_errands, n_slots + n_errands))
    _, matched = min_weight_full_bipartite_matching(graph)
    owner = np.repeat(np.arange(len(capacity)), slots)  # slot column → runner
    return {e: int(owner[c]) for e, c in enumerate(matched) if c < n_slots}


def solve(runners: Sequence[RunnerPoint], errands: Sequence[ErrandPoint], *,
          radius_km: float, nearest: int | None = None) -> Solution:
    """The optimum: the most errands assigned within the radius, then the least distance
    (exact; with ``nearest`` exact on the graph of each errand's nearest runners)."""
    started = time.perf_counter()
    pairs = candidate_pairs(runners, errands, radius_km, nearest=nearest)
    penalty = np.full(len(errands), 2 * radius_km * max(len(errands), 1) + 1.0)
    chosen = assign(len(errands), [r.capacity for r in runners], pairs, pairs.km, penalty)
    solution = Solution()
    for e, errand in enumerate(errands):
        if e in chosen:
            runner = runners[chosen[e]]
            km = haversine_km(errand.lat, errand.lng, runner.lat, runner.lng)
            solution.assignments.append(Assignment(errand.errand_id, runner.runner_id, km))
        else:
            solution.unassigned.append(errand.errand_id)
    solution.solve_ms = (time.perf_counter() - started) * 1000
    return solution


def greedy(runners: Sequence[RunnerPoint], errands: Sequence[ErrandPoint], *,
           radius_km: float) -> Solution:
    """Nearest-first, in the errands' order: each errand takes its nearest runner with a free
    slot within the radius (the baseline the optimum is measured against)."""
    started = time.perf_counter()
    pairs = candidate_pairs(runners, errands, radius_km)
    order = np.lexsort((pairs.km, pairs.errand))
    free = [max(r.capacity, 0) for r in runners]
    chosen: dict[int, tuple[int, float]] = {}
    for i in order:
        e, r = int(pairs.errand[i]), int(pairs.runner[i])
        if e not in chosen and free[r] > 0:
            free[r] -= 1
            chosen[e] = (r, float(pairs.km[i]))
    solution = Solution()
    for e, errand in enumerate(errands):
        if e in chosen:
            solution.assignments.append(
                Assignment(errand.errand_id, runners[chosen[e][0]].runner_id, chosen[e][1]))
        else:
            solution.unassigned.append(errand.errand_id)
    solution.solve_ms = (time.perf_counter() - started) * 1000
    return solution
