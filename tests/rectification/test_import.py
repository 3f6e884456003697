"""Import of the province's feedback lists: one task per department; errors; idempotency."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import located
from tongban.cli import app as cli
from tongban.core.errors import ValidationFailed
from tongban.core.security import SYSTEM_ACTOR
from tongban.rectification import service

FEEDBACK = """item_code,item_name,problem,department,due
511A0014100002,客运班线延续经营许可,材料不一致,市交通运输局,2026-02-25
511A0014200003,道路旅客运输企业设立子公司经营许可,时限未压缩,市交通运输局,2026-02-25
512B0110100008,住宅专项维修资金交存,收费依据未注明,巴州区,10
"""


def run(db: Session, text: str, **kwargs: object) -> service.FeedbackImport:
    return service.import_feedback(db, actor=SYSTEM_ACTOR, source=io.BytesIO(text.encode()),
                                   filename="反馈.csv", issued_on=date(2026, 2, 5),
                                   **kwargs)  # type: ignore[arg-type]


def test_one_task_per_department_with_its_lines(db: Session) -> None:
    result = run(db, FEEDBACK, penalty_indicator="A04", points_each=0.2)
    assert (result.tasks, result.lines) == (2, 3)
    tasks = [service.get_task(db, actor=SYSTEM_ACTOR, task_id=i) for i in result.task_ids]
    by_org = {t.org.name: t for t in tasks}
    assert len(by_org["市交通运输局"].lines) == 2
    assert by_org["巴州区"].due_on == date(2026, 2, 26)  # 10 working days across Spring Festival
    assert all(t.penalty_org is not None and t.penalty_org.code == "511900" for t in tasks)


def test_reimport_is_idempotent_and_adds_only_new_lines(db: Session) -> None:
    run(db, FEEDBACK)
    assert run(db, FEEDBACK).as_dict() == {"tasks": 0, "lines": 0, "task_ids": [], "errors": []}
    result = run(db, FEEDBACK + "511A0014200002,扩大经营范围,缺少特别程序,市交通运输局,2026-02-25\n")
    assert (result.tasks, result.lines) == (0, 1)


def test_every_bad_row_is_reported_and_nothing_imported(db: Session) -> None:
    text = """item_code,item_name,problem,department,due
511A0014100002,客运班线延续经营许可,材料不一致,市不存在局,2026-02-25
,,材料不一致,巴州区,2026-02-25
511A1,事项,,巴州区,2026-02-25
511A2,事项,问题,巴州区,2026-13-01
511A3,事项,问题,巴州区,2026-01-01
511A4,事项,问题,巴州区,2026-02-25
511A4,事项,问题,巴州区,2026-02-25
"""
    before = len(service.visible_tasks(db, actor=SYSTEM_ACTOR))
    with pytest.raises(ValidationFailed) as excinfo:
        run(db, text)
    assert len(service.visible_tasks(db, actor=SYSTEM_ACTOR)) == before
    found = [(row, column) for row, column, _ in located(excinfo.value)]
    assert found == [(2, "department"), (3, "item_code"), (4, "problem"), (5, "due"),
                     (6, "due"), (8, "item_code")]
    assert "未找到组织「市不存在局」" in excinfo.value.errors.groups[0].reason


def test_missing_columns_are_named(db: Session) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        run(db, "item_code,problem\nA,B\n")
    assert {e.column for e in excinfo.value.errors} == {"item_name", "department", "due"}


def test_cli_import_json(db: Session, tmp_path: Path) -> None:
    path = tmp_path / "feedback.csv"
    path.write_text(FEEDBACK, encoding="utf-8")
    result = CliRunner().invoke(cli, ["rectify", "import", str(path), "--penalty-indicator",
                                      "A04", "--points-each", "0.2", "--issued", "2026-02-05",
                                      "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert (payload["tasks"], payload["lines"], payload["errors"]) == (2, 3, [])


def test_cli_import_json_lists_row_errors(db: Session, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("item_code,item_name,problem,department,due\nA,B,C,不存在局,2026-12-01\n",
                    encoding="utf-8")
    result = CliRunner().invoke(cli, ["rectify", "import", str(path), "--json"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["tasks"] == 0 and payload["errors"][0]["rows"] == [2]
    assert payload["errors"][0]["column"] == "department"
