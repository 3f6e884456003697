"""Ledger types: each version loaded from its YAML (validated, stored immutably, the newest in
force), the types the product ships (``tongban/data/ledgers``), and who may use them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core import audit
from tongban.core.choices import Choice
from tongban.core.errors import Conflict, NotFound, PermissionDenied
from tongban.core.security import SYSTEM_ACTOR, Actor
from tongban.ledger.models import LedgerType
from tongban.ledger.spec import LedgerSpec, parse_ledger
from tongban.org import service as org_service
from tongban.org.enums import Area

audit.name_objects({"ledger_type": "台账类型", "ledger_item": "台账事项",
                    "ledger_entry": "台账条目", "ledger_figure": "台账月度数据"})


def require_ledger_area(actor: Actor) -> None:
    org_service.require_area(actor, Area.ledger)


def require_editor(actor: Actor, what: str) -> None:
    require_ledger_area(actor)
    if not actor.can_manage:
        raise PermissionDenied(f"只有考核管理员或系统管理员可以{what}")


@dataclass(frozen=True)
class Loaded:
    """A type's version after ``load_type``: whether it was new."""

    code: str
    version: str
    name: str
    new: bool

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "version": self.version, "name": self.name, "new": self.new}


@audit.action({"ledger.type_loaded": "加载台账类型"})
def load_type(db: Session, *, actor: Actor, text: str, filename: str = "") -> Loaded:
    """Load one version of a ledger type (managers): the same text again changes nothing; other
    text under a version already loaded is refused (a version never changes); a new version
    is the one in force from now on."""
    require_editor(actor, "加载台账类型")
    spec = parse_ledger(text, filename=filename)
    digest = hashlib.sha256(text.encode()).hexdigest()
    existing = db.scalars(select(LedgerType).where(
        LedgerType.code == spec.code, LedgerType.version == spec.version)).one_or_none()
    if existing is not None:
        if existing.spec != spec.model_dump(mode="json"):
            raise Conflict(f"台账类型 {spec.code} 的版本 {spec.version} 已加载且内容不同；"
                           "修改后请使用新的版本号")
        return Loaded(spec.code, spec.version, spec.name, False)
    for older in db.scalars(select(LedgerType).where(LedgerType.code == spec.code,
                                                     LedgerType.is_current)):
        older.is_current = False
    row = LedgerType(code=spec.code, version=spec.version, name=spec.name,
                     spec=spec.model_dump(mode="json"), source=text, sha256=digest,
                     is_current=True, loaded_by=actor.username)
    db.add(row)
    db.flush()
    audit.record(db, actor=actor, action="ledger.type_loaded", object_type="ledger_type",
                 object_id=f"{spec.code}@{spec.version}", changes={"sha256": digest})
    return Loaded(spec.code, spec.version, spec.name, True)


def shipped_texts() -> dict[str, str]:
    """The YAML of every type the product ships, by file name."""
    folder = resources.files("tongban.data").joinpath("ledgers")
    return {entry.name: entry.read_text(encoding="utf-8") for entry in folder.iterdir()
            if entry.name.endswith(".yaml")}


def load_shipped_types(db: Session) -> list[Loaded]:
    """Load the shipped types a database lacks (``tongban db upgrade``; items come by import)."""
    return [load_type(db, actor=SYSTEM_ACTOR, text=text, filename=name)
            for name, text in sorted(shipped_texts().items())]


_SPECS: dict[str, LedgerSpec] = {}


def spec_of(row: LedgerType) -> LedgerSpec:
    """The validated spec of a stored version (kept per text: a version never changes)."""
    found = _SPECS.get(row.sha256)
    if found is None:
        found = _SPECS[row.sha256] = LedgerSpec.model_validate(row.spec)
    return found


def current_type(db: Session, *, actor: Actor, code: str) -> tuple[LedgerType, LedgerSpec]:
    """The version in force of a type, and its spec."""
    require_ledger_area(actor)
    row = db.scalars(select(LedgerType).where(LedgerType.code == code[:48],
                                              LedgerType.is_current)).one_or_none()
    if row is None:
        raise NotFound(f"未找到台账类型「{code[:48]}」；可用 tongban ledger load 加载")
    return row, spec_of(row)


def list_types(db: Session, *, actor: Actor) -> list[tuple[LedgerType, LedgerSpec]]:
    require_ledger_area(actor)
    rows = db.scalars(select(LedgerType).where(LedgerType.is_current).order_by(LedgerType.code))
    return [(row, spec_of(row)) for row in rows]


_CHOICES: dict[tuple[str, str, str], type[Choice]] = {}


def _choice(spec: LedgerSpec, kind: str) -> type[Choice]:
    key = (spec.code, spec.version, kind)
    if key not in _CHOICES:
        label = "改为{}" if kind == "Move" else "{}"
        make: Any = Choice  # the functional API: members given as (name, (value, label))
        _CHOICES[key] = make(f"{kind}_{spec.code.replace('-', '_')}",
                             [(s.code, (s.code, label.format(s.label))) for s in spec.statuses])
    return _CHOICES[key]


def status_choice(spec: LedgerSpec) -> type[Choice]:
    """The type's statuses as a choice (value: code, label: the Chinese status)."""
    return _choice(spec, "Status")


def move_choice(spec: LedgerSpec) -> type[Choice]:
    """The moves of an entry, one per status it can reach (``改为已承接``)."""
    return _choice(spec, "Move")
