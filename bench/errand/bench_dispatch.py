"""Benchmark: one dispatch cycle of 1,000 errands × 5,000 runners around 巴中's county seats.

The instance is the simulator's geography (``tongban.errand.simulate``): requests within
~3 km (1 σ) of the seats, runners spread ~6.5 km over their county, capacities 1–2, radius
5 km. Figures (each the best of ``--repeat`` runs):

  solve      the file contract's objective (most errands, then least distance) on each
             errand's k nearest runners (k = TONGBAN_ERRAND_DISPATCH_CANDIDATES, 16)
  full cost  the live dispatcher's cost (ETA, SLA risk, load, rating, declines, waiting) on
             the same solver
  exact      the same objective on the unpruned graph (each errand's n nearest, which keeps
             an optimum) — to show what pruning costs
  check      the pruned graph solved again by dense ``linear_sum_assignment`` (the optimum
             of the pruned graph by another algorithm): the totals must be equal
  greedy     nearest-first in arrival order; the optimum's mean pickup distance against it

    .venv/bin/python bench/errand/bench_dispatch.py
    .venv/bin/python bench/errand/bench_dispatch.py --errands 1000 --runners 5000 --seed 2

Targets (issue #16): ≤ 100 ms a cycle; cost equal to the exact optimum on the pruned graph;
≥ 5 % lower mean pickup distance than greedy nearest-first on the same instance.
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np
from scipy.optimize import linear_sum_assignment

from tongban.errand.dispatch import (
    ErrandPoint,
    RunnerPoint,
    Solution,
    assign,
    candidate_pairs,
    greedy,
    solve,
)
from tongban.errand.dispatcher import CostModel
from tongban.errand.simulate import REQUEST_SPREAD_KM, RUNNER_SPREAD_KM, pick_seat, scatter

RADIUS_KM = 5.0
NEAREST = 16


def instance(errands: int, runners: int, seed: int) -> tuple[list[RunnerPoint],
                                                             list[ErrandPoint]]:
    rng = random.Random(seed)
    found_runners = [RunnerPoint(f"r{n}", *scatter(rng, *pick_seat(rng), RUNNER_SPREAD_KM),
                                 capacity=rng.choice((1, 1, 2))) for n in range(runners)]
    found_errands = [ErrandPoint(f"e{n}", *scatter(rng, *pick_seat(rng), REQUEST_SPREAD_KM))
                     for n in range(errands)]
    return found_runners, found_errands


def best_of(repeat: int, run: object) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()  # type: ignore[operator]
        best = min(best, (time.perf_counter() - started) * 1000)
    return best, result


def dense_check(runners: list[RunnerPoint], errands: list[ErrandPoint]) -> tuple[int, float]:
    """The pruned graph's optimum by dense LSA: (assigned, total km)."""
    pairs = candidate_pairs(runners, errands, RADIUS_KM, nearest=NEAREST)
    slots = [r for r, runner in enumerate(runners) for _ in range(runner.capacity)]
    penalty = 2 * RADIUS_KM * len(errands) + 1.0
    cost = np.full((len(errands), len(slots)), penalty)
    columns: dict[int, list[int]] = {}
    for s, r in enumerate(slots):
        columns.setdefault(r, []).append(s)
    for e, r, km in zip(pairs.errand.tolist(), pairs.runner.tolist(), pairs.km.tolist(),
                        strict=True):
        cost[e, columns[r]] = km
    rows, cols = linear_sum_assignment(cost)
    real = cost[rows, cols] < penalty
    return int(real.sum()), float(cost[rows, cols][real].sum())


def mean_km(solution: Solution) -> float:
    return solution.total_distance_km / max(len(solution.assignments), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--errands", type=int, default=1000)
    parser.add_argument("--runners", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    runners, errands = instance(args.errands, args.runners, args.seed)
    print(f"{args.errands} errands × {args.runners} runners, radius {RADIUS_KM} km, "
          f"k = {NEAREST}, seed {args.seed}")

    solve_ms, pruned = best_of(args.repeat, lambda: solve(runners, errands, radius_km=RADIUS_KM,
                                                          nearest=NEAREST))
    assert isinstance(pruned, Solution)
    print(f"solve (pruned, distance):  {solve_ms:7.1f} ms  assigned {len(pruned.assignments)}, "
          f"total {pruned.total_distance_km:.3f} km, mean {mean_km(pruned):.3f} km")

    model = CostModel()
    rng = np.random.default_rng(args.seed)

    def full_cost() -> dict[int, int]:
        pairs = candidate_pairs(runners, errands, RADIUS_KM, nearest=NEAREST)
        slack = rng.uniform(60, 600, len(errands))  # minutes to each errand's SLA
        load = rng.uniform(0, 1, len(runners))
        rating = rng.uniform(4, 5, len(runners))
        declines = rng.integers(0, 3, len(runners)).astype(float)
        cost = model.pair_costs(km=pairs.km, slack_minutes=slack[pairs.errand],
                                load=load[pairs.runner], rating=rating[pairs.runner],
                                declines=declines[pairs.runner])
        waiting = model.waiting(rng.uniform(0, 30, len(errands)))
        return assign(len(errands), [r.capacity for r in runners], pairs, cost, waiting)

    full_ms, chosen = best_of(args.repeat, full_cost)
    print(f"cycle (pruned, full cost): {full_ms:7.1f} ms  offered {len(chosen)}")  # type: ignore[arg-type]

    exact_ms, exact = best_of(1, lambda: solve(runners, errands, radius_km=RADIUS_KM))
    assert isinstance(exact, Solution)
    print(f"exact (unpruned):          {exact_ms:7.1f} ms  assigned {len(exact.assignments)}, "
          f"total {exact.total_distance_km:.3f} km "
          f"(pruning costs {pruned.total_distance_km - exact.total_distance_km:+.3f} km)")

    check_ms, (count, total) = best_of(1, lambda: dense_check(runners, errands))  # type: ignore[misc]
    same = count == len(pruned.assignments) and abs(total - pruned.total_distance_km) < 1e-6
    print(f"check (dense LSA, pruned): {check_ms:7.1f} ms  assigned {count}, total {total:.3f} km"
          f" — {'equal' if same else 'DIFFERENT'}")

    greedy_ms, near = best_of(args.repeat, lambda: greedy(runners, errands, radius_km=RADIUS_KM))
    assert isinstance(near, Solution)
    gain = 1 - mean_km(pruned) / mean_km(near)
    print(f"greedy nearest-first:      {greedy_ms:7.1f} ms  assigned {len(near.assignments)}, "
          f"mean {mean_km(near):.3f} km → the optimum's mean pickup is {gain:.1%} lower")


if __name__ == "__main__":
    main()
