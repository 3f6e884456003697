"""``tongban errand`` list, runners, pool and grab: JSON shapes, exit codes, masked phones."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import errand_world, make_errand, make_runner
from tongban.cli import app


def _run(*args: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(app, ["errand", *args, "--json"])
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}


def test_list_runners_and_pool_answer_items_and_total(db: Session) -> None:
    plain, _ = errand_world(db)
    runner = make_runner(db)
    errand = make_errand(db, item=plain, phone="13912345678")
    code, listed = _run("list", "--state", "open")
    assert code == 0 and listed["total"] >= 1
    assert errand.id in [row["id"] for row in listed["items"]]  # type: ignore[union-attr]
    assert "13912345678" not in json.dumps(listed) and "139****5678" in json.dumps(listed)
    code, runners = _run("runners")
    assert code == 0 and runner.id in [row["id"] for row in runners["items"]]  # type: ignore[union-attr]
    code, pool = _run("pool", str(errand.id))
    assert code == 0 and pool["total"] == 1
    assert pool["items"][0]["id"] == runner.id  # type: ignore[index]


def test_grab_exit_codes(db: Session) -> None:
    plain, _ = errand_world(db)
    first, second = make_runner(db), make_runner(db)
    far = make_runner(db, at=(32.346, 106.828))
    errand = make_errand(db, item=plain)
    code, won = _run("grab", str(errand.id), "--runner", str(first.id))
    assert code == 0 and won["outcome"] == "won" and won["runner_id"] == first.id
    code, again = _run("grab", str(errand.id), "--runner", str(first.id))
    assert code == 0 and again["outcome"] == "retry"
    code, taken = _run("grab", str(errand.id), "--runner", str(second.id))
    assert code == 3 and "已被抢" in str(taken["detail"])
    other = make_errand(db, item=plain)
    code, refused = _run("grab", str(other.id), "--runner", str(far.id))
    assert code == 4 and "超出" in str(refused["detail"])
    code, unknown = _run("grab", "999999", "--runner", str(first.id))
    assert code == 1 and unknown["outcome"] == "unknown"
    assert CliRunner().invoke(app, ["errand", "grab", str(errand.id)]).exit_code == 2


def test_an_unknown_state_is_a_usage_error(db: Session) -> None:
    assert CliRunner().invoke(app, ["errand", "list", "--state", "nope"]).exit_code == 2
