"""Dispatch on files: the most errands within the radius, then the least total distance,
capacity respected; checked against brute force on small random instances."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tongban.cli import app
from tongban.errand.dispatch import ErrandPoint, RunnerPoint, haversine_km, solve


def _brute(runners: list[RunnerPoint], errands: list[ErrandPoint],
           radius: float) -> tuple[int, float]:
    """(most assigned, least distance) over every assignment of errands to runners or none."""
    best = (0, 0.0)
    choices = [None, *range(len(runners))]
    for pick in itertools.product(choices, repeat=len(errands)):
        load = [0] * len(runners)
        total, count, ok = 0.0, 0, True
        for e, r in enumerate(pick):
            if r is None:
                continue
            d = haversine_km(errands[e].lat, errands[e].lng, runners[r].lat, runners[r].lng)
            load[r] += 1
            if d > radius + 1e-9 or load[r] > runners[r].capacity:
                ok = False
                break
            total, count = total + d, count + 1
        if ok and (count > best[0] or (count == best[0] and total < best[1])):
            best = (count, total)
    return best


point = st.tuples(st.floats(31.80, 31.95), st.floats(106.65, 106.85))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(point, st.integers(0, 2)), min_size=1, max_size=3),
       st.lists(point, min_size=1, max_size=5), st.sampled_from([2.0, 5.0, 8.0]))
def test_the_solution_is_the_brute_force_optimum(
        runners_in: list[tuple[tuple[float, float], int]], errands_in: list[tuple[float, float]],
        radius: float) -> None:
    runners = [RunnerPoint(f"r{n}", lat, lng, cap) for n, ((lat, lng), cap) in enumerate(runners_in)]
    errands = [ErrandPoint(f"e{n}", lat, lng) for n, (lat, lng) in enumerate(errands_in)]
    solution = solve(runners, errands, radius_km=radius)
    count, total = _brute(runners, errands, radius)
    assert len(solution.assignments) == count
    assert abs(solution.total_distance_km - total) < 1e-6
    per_runner = {r.runner_id: 0 for r in runners}
    for a in solution.assignments:
        per_runner[a.runner_id] += 1
        assert a.distance_km <= radius + 1e-9
    assert all(per_runner[r.runner_id] <= r.capacity for r in runners)
    assert sorted([a.errand_id for a in solution.assignments] + solution.unassigned) == \
        sorted(e.errand_id for e in errands)


def test_count_comes_before_distance() -> None:
    # r0 is next to e0; e1 is reachable by r0 alone and e0 by r1 too, both near the radius:
    # two far assignments (≈ 9.8 km) beat one near one (≈ 0.1 km) and an errand left over.
    runners = [RunnerPoint("r0", 31.85, 106.70), RunnerPoint("r1", 31.85, 106.7528)]
    errands = [ErrandPoint("e0", 31.85, 106.701), ErrandPoint("e1", 31.85, 106.6482)]
    assert haversine_km(31.85, 106.701, 31.85, 106.7528) > 4.8
    assert haversine_km(31.85, 106.6482, 31.85, 106.70) > 4.8
    solution = solve(runners, errands, radius_km=5)
    assert {a.errand_id: a.runner_id for a in solution.assignments} == {"e0": "r1", "e1": "r0"}


def test_the_radius_is_inclusive() -> None:
    runner, errand = RunnerPoint("r", 31.85, 106.70), ErrandPoint("e", 31.85, 106.75)
    d = haversine_km(31.85, 106.70, 31.85, 106.75)
    assert solve([runner], [errand], radius_km=d).assignments[0].distance_km == d
    assert solve([runner], [errand], radius_km=d - 1e-6).unassigned == ["e"]


def test_the_cli_prints_the_contracts_shape(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_text("runner_id,lat,lng,capacity\nA,31.867,106.747,2\n"
                                    "B,31.787,106.636,1\n", encoding="utf-8")
    (tmp_path / "e.csv").write_text("errand_id,lat,lng\n1,31.87,106.75\n2,31.86,106.74\n"
                                    "3,31.79,106.64\n4,32.3,106.8\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["errand", "dispatch", "--runners", str(tmp_path / "r.csv"),
                                      "--errands", str(tmp_path / "e.csv"), "--radius-km", "5",
                                      "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"assignments", "unassigned", "assigned", "total_distance_km", "solve_ms"}
    assert {(a["errand_id"], a["runner_id"]) for a in out["assignments"]} == {
        ("1", "A"), ("2", "A"), ("3", "B")}
    assert set(out["assignments"][0]) == {"errand_id", "runner_id", "distance_km"}
    assert out["unassigned"] == ["4"] and out["assigned"] == 3


def test_a_bad_file_is_refused_naming_the_row(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_text("runner_id,lat,lng,capacity\nA,north,106.7,1\n",
                                    encoding="utf-8")
    (tmp_path / "e.csv").write_text("errand_id,lat,lng\n1,31.87,106.75\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["errand", "dispatch", "--runners", str(tmp_path / "r.csv"),
                                      "--errands", str(tmp_path / "e.csv"), "--radius-km", "5"])
    assert result.exit_code == 1 and "第2行" in result.output


def test_a_runner_without_a_slot_does_not_hide_the_next_one() -> None:
    # the nearest runner is full (capacity 0): the errand goes to the one behind it, even
    # when only each errand's nearest runner is a candidate
    full, free = RunnerPoint("full", 31.85, 106.70, 0), RunnerPoint("free", 31.86, 106.70, 1)
    errand = ErrandPoint("e", 31.85, 106.7001)
    for nearest in (None, 1):
        solution = solve([full, free], [errand], radius_km=5, nearest=nearest)
        assert [(a.errand_id, a.runner_id) for a in solution.assignments] == [("e", "free")]
