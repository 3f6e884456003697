"""Ledger types: YAML validated with paths, versions immutable, shipped types loaded without
items."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import actor_of, located
from tongban.core.errors import Conflict, PermissionDenied, ValidationFailed
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.ledger import service
from tongban.ledger.models import LedgerItem
from tongban.ledger.spec import parse_ledger

GOOD = """code: t-ledger
name: 测试台账
version: "1"
categories: [甲, 乙]
orgs: [{level: township}]
statuses:
  - {code: open, label: 未完成, kind: open}
  - {code: done, label: 已完成, kind: done}
initial: open
metrics: {done: powers_taken}
"""


def test_shipped_types_load_into_a_new_database_without_items(db: Session) -> None:
    loaded = service.load_shipped_types(db)
    assert {t.code for t in loaded} == {"township-powers", "featured-zones",
                                        "internet-supervision", "quarterly-commitments"}
    assert db.scalar(select(func.count()).select_from(LedgerItem)) == 0
    again = service.load_shipped_types(db)
    assert not any(t.new for t in again)


def test_errors_name_their_yaml_paths() -> None:
    bad = GOOD.replace("kind: done", "kind: finished").replace("initial: open",
                                                                "initial: nowhere")
    bad = bad.replace("orgs: [{level: township}]", "orgs: [{level: township, categories: [丙]}]")
    with pytest.raises(ValidationFailed) as caught:
        parse_ledger(bad, filename="t.yaml")
    assert [c for _, c, _ in located(caught.value)] == ["statuses[1].kind"]
    with pytest.raises(ValidationFailed) as caught:
        parse_ledger(bad.replace("kind: finished", "kind: done"), filename="t.yaml")
    paths = {c for _, c, _ in located(caught.value)}
    assert paths == {"initial", "orgs[0].categories[0]"}


def test_an_unknown_metric_is_refused_with_the_nearest_code() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_ledger(GOOD.replace("powers_taken", "powers_taekn"))
    [(_, path, reason)] = located(caught.value)
    assert path == "metrics.done" and "powers_taken" in reason


def test_a_syntax_error_names_its_line() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_ledger("code: x\nname: [unclosed\n")
    assert "YAML" in located(caught.value)[0][2]


def test_a_version_never_changes_and_a_new_one_takes_over(db: Session) -> None:
    first = service.load_type(db, actor=SYSTEM_ACTOR, text=GOOD)
    assert first.new
    assert not service.load_type(db, actor=SYSTEM_ACTOR, text=GOOD + "# 注释\n").new
    with pytest.raises(Conflict):
        service.load_type(db, actor=SYSTEM_ACTOR, text=GOOD.replace("测试台账", "改名"))
    service.load_type(db, actor=SYSTEM_ACTOR,
                      text=GOOD.replace("测试台账", "改名").replace('"1"', '"2"'))
    row, spec = service.current_type(db, actor=SYSTEM_ACTOR, code="t-ledger")
    assert (row.version, spec.name) == ("2", "改名")


def test_only_managers_load_types(db: Session) -> None:
    with pytest.raises(PermissionDenied):
        service.load_type(db, actor=actor_of(db, role=Role.liaison, org="511902"), text=GOOD)


def test_a_type_may_require_the_townships_of_one_county(db: Session) -> None:
    text = GOOD.replace("orgs: [{level: township}]", "orgs: [{level: township, under: 巴州区}]")
    service.load_type(db, actor=SYSTEM_ACTOR, text=text)
    _, spec = service.current_type(db, actor=SYSTEM_ACTOR, code="t-ledger")
    orgs = service.required_orgs(db, spec=spec)
    assert orgs and {o.parent.code for o, _ in orgs if o.parent} == {"511902"}
    with pytest.raises(ValidationFailed) as caught:
        parse_ledger(GOOD.replace("orgs: [{level: township}]", "orgs: [{org: 巴州区, under: 巴州区}]"))
    assert [c for _, c, _ in located(caught.value)] == ["orgs[0].under"]
