"""``tongban ledger load|items|import|cases|status`` and ``tongban supervise`` as the issue
specifies them: JSON shapes, row errors, idempotent re-imports."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.ledger.conftest import ITEMS
from tongban.cli import app as cli

runner = CliRunner()


def _run(*args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = runner.invoke(cli, list(args))
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}


def test_the_township_powers_from_load_to_status(db: Session, tmp_path: Path) -> None:
    from tongban.ledger.service import shipped_texts

    yaml = tmp_path / "township-powers.yaml"
    yaml.write_text(shipped_texts()["township-powers.yaml"], encoding="utf-8")
    code, loaded = _run("ledger", "load", str(yaml), "--json")
    assert code == 0 and loaded["code"] == "township-powers" and loaded["new"]
    items = tmp_path / "事项.csv"
    items.write_text(ITEMS, encoding="utf-8")
    code, counts = _run("ledger", "items", "township-powers", str(items), "--json")
    assert (code, counts) == (0, {"added": 7, "changed": 0, "unchanged": 0})
    entries = tmp_path / "台账.csv"
    entries.write_text("单位,事项编码,状态,原因,承接主体,承办人员,办理流程,责任人\n"
                       "巴州区/东城街道,FD-001,已承接,,,,,\n"
                       "巴州区/东城街道,FD-002,不适用,无办理需求,,,,\n"
                       "文旅新区,WT-001,已承接,,文旅新区管委会,李四,受理-审核-办结,王五\n",
                       encoding="utf-8")
    code, counts = _run("ledger", "import", "township-powers", str(entries), "--json")
    assert (code, counts["added"]) == (0, 3)
    code, counts = _run("ledger", "import", "township-powers", str(entries), "--json")
    assert (code, counts) == (0, {"added": 0, "changed": 0, "unchanged": 3})
    cases = tmp_path / "办件.csv"
    cases.write_text("单位,事项编码,办件量\n巴州区/东城街道,FD-001,5\n", encoding="utf-8")
    code, _ = _run("ledger", "cases", "township-powers", str(cases), "--period", "2026-11",
                   "--json")
    assert code == 0
    code, status = _run("ledger", "status", "township-powers", "--org", "巴州区/东城街道",
                        "--period", "2026-11", "--json")
    assert code == 0
    assert status == {"items": [{"org": "东城街道", "total": 5, "done": 1, "not_applicable": 1,
                                 "open": 3, "rate": 0.25, "landed": 1, "landing_rate": 1.0}]}


def test_a_delegated_power_taken_without_its_four_fields_is_a_row_error(
        db: Session, tmp_path: Path) -> None:
    from tests.ledger.conftest import csv_of
    from tongban.core.security import SYSTEM_ACTOR
    from tongban.ledger import service

    service.load_shipped_types(db)
    service.import_items(db, actor=SYSTEM_ACTOR, type_code="township-powers",
                         source=csv_of(ITEMS), filename="事项.csv")
    entries = tmp_path / "台账.csv"
    entries.write_text("单位,事项编码,状态,承接主体\n文旅新区,WT-001,已承接,文旅新区管委会\n",
                       encoding="utf-8")
    code, refused = _run("ledger", "import", "township-powers", str(entries), "--json")
    assert code == 1 and refused["added"] == 0
    assert {e["column"] for e in refused["errors"]} == {"承办人员", "办理流程", "责任人"}
    assert all(e["file"] == "台账.csv" and e["rows"] == [2] for e in refused["errors"])


def test_supervise_prints_departments_worst_first(db: Session, tmp_path: Path) -> None:
    from tests.ledger.conftest import csv_of
    from tongban.core.security import SYSTEM_ACTOR
    from tongban.ledger import service

    service.load_shipped_types(db)
    service.import_items(db, actor=SYSTEM_ACTOR, type_code="internet-supervision",
                         filename="指标.csv", source=csv_of(
                             "事项编码,事项名称,类别,牵头部门,目标值\nSV-1,事项认领率,政务和大数据局,市民政局,100\n"))
    values = tmp_path / "值.csv"
    values.write_text("单位,事项编码,数值\n市教育局,SV-1,100\n市交通运输局,SV-1,80\n",
                      encoding="utf-8")
    code, _ = _run("ledger", "values", str(values), "--period", "2026-11", "--json")
    assert code == 0
    code, found = _run("supervise", "--indicator", "SV-1", "--period", "2026-11", "--json")
    assert code == 0 and found["lead"] == "市民政局" and found["target"] == 100
    reported = [r for r in found["items"] if r["value"] is not None]
    assert [(r["org"], r["met"]) for r in reported] == [("市交通运输局", False), ("市教育局", True)]
