"""Entries: where each org stands on each item of a ledger. The orgs a type requires, the
items each must complete, an org's entries (read within the actor's scope), updates on pages
and from spreadsheets (all or nothing, every row error named, the same file twice changes
nothing), evidence files (the rules of ``core.uploads``), the status moves of the type's
workflow, and a rectification task opened from an overdue entry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core import audit, uploads
from tongban.core.choices import Choice
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import (
    Conflict,
    DomainError,
    ErrorGroups,
    NotFound,
    PermissionDenied,
    RowError,
    ValidationFailed,
)
from tongban.core.security import Actor, Role
from tongban.core.tabular import ImportCounts, cell_text, open_table
from tongban.core.workdays import local_today
from tongban.core.workflow import Workflow
from tongban.ledger.enums import StatusKind
from tongban.ledger.models import LedgerAttachment, LedgerEntry, LedgerItem
from tongban.ledger.service.types import (
    current_type,
    move_choice,
    require_ledger_area,
    status_choice,
)
from tongban.ledger.spec import LedgerSpec
from tongban.org import service as org_service
from tongban.org.models import Org

ENTRY_COLUMNS = {"单位": "org", "事项编码": "item", "状态": "status", "原因": "reason",
                 "负责人": "responsible", "备注": "notes"}

# ---------------------------------------------------------------- orgs and items


def required_orgs(db: Session, *, spec: LedgerSpec) -> list[tuple[Org, list[str]]]:
    """The orgs that must complete the ledger, each with the categories it takes (empty: every
    category), in the tree's order; a township by its county."""
    city = org_service.resolve_org(db, ref=get_settings().city_code)
    found: dict[int, tuple[Org, list[str]]] = {}
    for rule in spec.orgs:
        if rule.org is not None:
            try:
                org = org_service.resolve_org(db, ref=rule.org)
            except DomainError:
                continue  # a city without that org (文旅新区 is 巴中's) has nothing to do
            found.setdefault(org.id, (org, list(rule.categories)))
            continue
        top = city
        if rule.under is not None:
            try:
                top = org_service.resolve_org(db, ref=rule.under)
            except DomainError:
                continue
        for org in db.scalars(select(Org).where(
                Org.level == rule.level, Org.is_active.is_(True),
                Org.path.startswith(top.path), Org.id != top.id).order_by(Org.path, Org.code)):
            found.setdefault(org.id, (org, list(rule.categories)))
    return sorted(found.values(), key=lambda pair: (pair[0].path, pair[0].code))


def active_items(db: Session, *, spec: LedgerSpec) -> list[LedgerItem]:
    return list(db.scalars(select(LedgerItem).where(
        LedgerItem.type_code == spec.code, LedgerItem.is_active.is_(True))
        .order_by(LedgerItem.position, LedgerItem.code)))


def applies(item: LedgerItem, org: Org, categories: Sequence[str]) -> bool:
    """Whether ``org`` must complete ``item``: an item of one org is that org's alone."""
    if item.org_id is not None:
        return item.org_id == org.id
    return not categories or item.category in categories


def may_see(db: Session, actor: Actor, org: Org) -> bool:
    return org_service.can_see(db, actor=actor, org=org)


def may_edit(db: Session, actor: Actor, org: Org) -> bool:
    """Managers edit every org's entries; a liaison its own org's and those below it."""
    if actor.can_manage:
        return True
    return actor.role is Role.liaison and org_service.can_see(db, actor=actor, org=org)


# ---------------------------------------------------------------- the workflow


def _may(db: Session, actor: Any, subject: Any, action: Any, who: str) -> None:
    if not isinstance(actor, Actor) or not may_edit(db, actor, subject.org):
        raise PermissionDenied("只有本单位联络员或考核管理员可以更新台账")


_WORKFLOWS: dict[tuple[str, str], Workflow[Any, Any]] = {}


def workflow_of(spec: LedgerSpec) -> Workflow[Any, Any]:
    """The type's statuses as a workflow: one move per status, from the statuses whose ``to``
    names it."""
    key = (spec.code, spec.version)
    if key not in _WORKFLOWS:
        states, moves = status_choice(spec), move_choice(spec)
        table = {moves(target.code): (
            [states(s.code) for s in spec.statuses if target in spec.next_statuses(s.code)],
            states(target.code), "editor") for target in spec.statuses}
        _WORKFLOWS[key] = Workflow(noun="台账条目", object_type="ledger_entry",
                                   audit_prefix="ledger", state_type=states, table=table,
                                   may=_may)
    return _WORKFLOWS[key]


# ---------------------------------------------------------------- reading


@dataclass
class EntryView:
    """One org's standing on one item: its entry, or the type's initial status if none yet."""

    spec: LedgerSpec
    item: LedgerItem
    org: Org
    entry: LedgerEntry | None

    @property
    def state(self) -> str:
        return self.entry.state if self.entry is not None else self.spec.initial

    @property
    def status_label(self) -> str:
        return self.spec.status(self.state).label

    @property
    def kind(self) -> StatusKind:
        return self.spec.status(self.state).kind

    @property
    def due_on(self) -> date | None:
        return self.item.due_on or self.spec.due_on

    def overdue(self, today: date) -> bool:
        return self.kind is StatusKind.open and self.due_on is not None and today > self.due_on

    def field(self, code: str) -> str:
        return (self.entry.fields or {}).get(code, "") if self.entry is not None else ""


def _org_rule(db: Session, spec: LedgerSpec, org: Org) -> list[str]:
    for found, categories in required_orgs(db, spec=spec):
        if found.id == org.id:
            return categories
    raise NotFound(f"「{org.name}」不在台账「{spec.name}」的填报单位中")


def org_entries(db: Session, *, actor: Actor, type_code: str, org: Org,
                kind: StatusKind | None = None) -> tuple[LedgerSpec, list[EntryView]]:
    """Every item ``org`` must complete with where it stands, within the actor's scope."""
    _, spec = current_type(db, actor=actor, code=type_code)
    if not may_see(db, actor, org):
        raise NotFound(f"未找到组织「{org.code}」")
    categories = _org_rule(db, spec, org)
    entries = {e.item_id: e for e in db.scalars(select(LedgerEntry).where(
        LedgerEntry.type_code == spec.code, LedgerEntry.org_id == org.id))}
    views = [EntryView(spec, item, org, entries.get(item.id))
             for item in active_items(db, spec=spec) if applies(item, org, categories)]
    if kind is not None:
        views = [v for v in views if v.kind is kind]
    return spec, views


def entry_view(db: Session, *, actor: Actor, type_code: str, org: Org,
               item_code: str) -> EntryView:
    """One org's standing on one item, to those who may see the org (anyone else: 404)."""
    _, spec = current_type(db, actor=actor, code=type_code)
    if not may_see(db, actor, org):
        raise NotFound(f"未找到组织「{org.code}」")
    item = db.scalars(select(LedgerItem).where(
        LedgerItem.type_code == spec.code, LedgerItem.code == item_code[:64],
        LedgerItem.is_active.is_(True))).one_or_none()
    if item is None or not applies(item, org, _org_rule(db, spec, org)):
        raise NotFound(f"未找到「{org.name}」的台账事项「{item_code[:64]}」")
    entry = db.scalars(select(LedgerEntry).where(
        LedgerEntry.item_id == item.id, LedgerEntry.org_id == org.id)).one_or_none()
    return EntryView(spec, item, org, entry)


def allowed_moves(db: Session, *, actor: Actor, view: EntryView) -> list[Choice]:
    """The statuses ``actor`` may move the entry to now (pages show exactly these)."""
    if not may_edit(db, actor, view.org):
        return []
    return [move_choice(view.spec)(s.code) for s in view.spec.next_statuses(view.state)]


# ---------------------------------------------------------------- rules


def _problems(spec: LedgerSpec, item: LedgerItem, status: str, reason: str,
              fields: Mapping[str, str], *, moving: bool = True) -> list[tuple[str, str]]:
    """What keeps an entry from being saved so: a reason its status asks for (when it moves
    there), or from outside the list; a field its category requires before it counts as done
    (the 委托 rule)."""
    found = spec.status(status)
    problems: list[tuple[str, str]] = []
    if reason and reason not in spec.reasons:
        problems.append(("原因", f"「{reason[:20]}」不在原因清单中（{'/'.join(spec.reasons)}）"))
    elif moving and found.needs_reason and not reason and spec.reasons:
        problems.append(("原因", f"状态为「{found.label}」时须选择原因"))
    if found.kind is StatusKind.done:
        for need in spec.required_fields(item.category):
            if not fields.get(need.code, "").strip():
                problems.append((need.label, f"{item.category}事项标为「{found.label}」时须填写"
                                             f"{need.label}（谁签批、谁盖章、谁负责）"))
    return problems


def _done_on(spec: LedgerSpec, status: str, entry: LedgerEntry | None) -> date | None:
    if spec.status(status).kind is not StatusKind.done:
        return None
    if entry is not None and entry.done_on is not None \
            and spec.status(entry.state).kind is StatusKind.done:
        return entry.done_on
    return local_today()


# ---------------------------------------------------------------- changing one entry


@dataclass(frozen=True)
class EntryInput:
    """What a page or the API changes of an entry; None keeps what is there."""

    status: str | None = None
    reason: str | None = None
    responsible: str | None = None
    notes: str | None = None
    fields: dict[str, str] = field(default_factory=dict)


@audit.action({"ledger.entry_updated": "更新台账条目"})
def update_entry(db: Session, *, actor: Actor, type_code: str, org: Org, item_code: str,
                 given: EntryInput) -> EntryView:
    """Change one entry (its status through the type's workflow, its reason, fields and
    notes); refused with the reason when its rules are not met; audited."""
    view = entry_view(db, actor=actor, type_code=type_code, org=org, item_code=item_code)
    spec, entry = view.spec, view.entry
    if not may_edit(db, actor, org):
        raise PermissionDenied("只有本单位联络员或考核管理员可以更新台账")
    status = given.status if given.status is not None else view.state
    if not any(s.code == status for s in spec.statuses):
        raise DomainError(f"「{status[:20]}」不是台账「{spec.name}」的状态")
    fields = dict(view.entry.fields or {}) if view.entry is not None else {}
    for known in spec.fields:
        if known.code in given.fields:
            fields[known.code] = given.fields[known.code].strip()[:200]
    reason = given.reason.strip() if given.reason is not None else (
        entry.reason if entry is not None else "")
    if spec.status(status).kind is StatusKind.done:
        reason = ""
    problems = _problems(spec, view.item, status, reason, fields,
                         moving=status != view.state)
    if problems:
        raise ValidationFailed(errors=[RowError(None, c, r) for c, r in problems],
                               summary="台账条目未保存")
    workflow = workflow_of(spec)
    moving = status != view.state
    if entry is None:
        entry = LedgerEntry(type_code=spec.code, item_id=view.item.id, item=view.item,
                            org_id=org.id, org=org, state=view.state, fields={}, reason="",
                            responsible="", notes="")
    if moving:
        workflow.check(db, actor, entry, move_choice(spec)(status))
    if entry.id is None:
        db.add(entry)
        db.flush()
    before = {"reason": entry.reason, "fields": dict(entry.fields or {}),
              "responsible": entry.responsible, "notes": entry.notes}
    entry.done_on = _done_on(spec, status, entry)
    entry.reason, entry.fields = reason[:100], fields
    if given.responsible is not None:
        entry.responsible = given.responsible.strip()[:100]
    if given.notes is not None:
        entry.notes = given.notes.strip()[:2000]
    entry.updated_at, entry.updated_by = utcnow(), actor.username
    after = {"reason": entry.reason, "fields": dict(entry.fields), "responsible": entry.responsible,
             "notes": entry.notes}
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if moving:
        workflow.step(db, actor, entry, move_choice(spec)(status), entry="ledger.entry_updated",
                      reason=entry.reason, changes=changes)
    elif changes:
        db.flush()
        audit.record(db, actor=actor, action="ledger.entry_updated", object_type="ledger_entry",
                     object_id=entry.id, changes=changes, reason=entry.reason)
    view.entry = entry
    return view


def save_entry(db: Session, *, actor: Actor, type_code: str, org: Org, item_code: str,
               given: EntryInput, evidence: tuple[str, bytes] | None = None) -> EntryView:
    """The entry's form: the change and an evidence file, the file checked first so that a
    refused file changes nothing."""
    if evidence is not None:
        uploads.check_file(*evidence)
    view = update_entry(db, actor=actor, type_code=type_code, org=org, item_code=item_code,
                        given=given)
    if evidence is not None:
        add_attachment(db, actor=actor, type_code=type_code, org=org, item_code=item_code,
                       filename=evidence[0], content=evidence[1])
    return view


@audit.action({"ledger.attachment_added": "上传台账佐证"})
def add_attachment(db: Session, *, actor: Actor, type_code: str, org: Org, item_code: str,
                   filename: str, content: bytes) -> LedgerAttachment:
    """Keep an evidence file of an entry after the checks every upload passes."""
    view = entry_view(db, actor=actor, type_code=type_code, org=org, item_code=item_code)
    if not may_edit(db, actor, org):
        raise PermissionDenied("只有本单位联络员或考核管理员可以上传佐证")
    kept = uploads.keep_evidence(filename, content, uploaded_by=actor.username)
    entry = view.entry
    if entry is None:
        entry = LedgerEntry(type_code=view.spec.code, item_id=view.item.id, item=view.item,
                            org_id=org.id, org=org, state=view.state, fields={},
                            updated_by=actor.username)
        db.add(entry)
    attachment = LedgerAttachment(**kept)
    entry.attachments.append(attachment)
    db.flush()
    audit.record(db, actor=actor, action="ledger.attachment_added", object_type="ledger_entry",
                 object_id=entry.id, changes={"file": attachment.original_name,
                                              "size": attachment.size,
                                              "sha256": attachment.sha256})
    return attachment


def get_attachment(db: Session, *, actor: Actor, attachment_id: int) -> tuple[LedgerAttachment,
                                                                              Path]:
    """An evidence file and its path, for those who may see its org."""
    require_ledger_area(actor)
    attachment = db.get(LedgerAttachment, attachment_id)
    if attachment is None or not may_see(db, actor, attachment.entry.org):
        raise NotFound("未找到该附件")
    return attachment, uploads.stored_path(attachment.stored_name)


# ---------------------------------------------------------------- rectification


RECTIFY_WORKDAYS = 10


@audit.action({"ledger.rectification_opened": "台账逾期转整改"})
def open_rectification(db: Session, *, actor: Actor, type_code: str, org: Org,
                       item_code: str) -> int:
    """Open a rectification task for an overdue entry (once: while it is open, the same task);
    the task's id."""
    from tongban.rectification import service as rectification
    from tongban.rectification.enums import TaskSource

    view = entry_view(db, actor=actor, type_code=type_code, org=org, item_code=item_code)
    today = local_today()
    if not view.overdue(today):
        raise Conflict(f"「{view.item.name}」未逾期（{view.status_label}），不能转整改")
    key = f"ledger:{view.spec.code}:{org.code}:{view.item.code}"[:100]
    existing = rectification.open_task_with_key(db, import_key=key)
    if existing is not None:
        return existing.id
    categories = get_settings().rectification_category_list
    category = "互联网+监管预警" if view.spec.code == "internet-supervision" \
        and "互联网+监管预警" in categories else ("其他" if "其他" in categories else categories[0])
    task = rectification.create_task(
        db, actor=actor, source=TaskSource.system_warning, category=category,
        title=f"{org.name}{view.spec.name}逾期：{view.item.name}"[:200], org=org,
        issued_on=today, due_workdays=RECTIFY_WORKDAYS, import_key=key,
        detail=f"专项台账「{view.spec.name}」事项「{view.item.code} {view.item.name}」"
               f"完成时限 {view.due_on}，当前为「{view.status_label}」"
               + (f"（{view.entry.reason}）" if view.entry is not None and view.entry.reason else "")
               + "。",
        lines=[rectification.LineInput(view.item.code, view.item.name, view.status_label)])
    if view.entry is None:
        view.entry = LedgerEntry(type_code=view.spec.code, item_id=view.item.id, item=view.item,
                                 org_id=org.id, org=org, state=view.state, fields={},
                                 updated_by=actor.username)
        db.add(view.entry)
    view.entry.rectification_task_id = task.id
    db.flush()
    audit.record(db, actor=actor, action="ledger.rectification_opened",
                 object_type="ledger_entry", object_id=view.entry.id, changes={"task": task.id})
    return task.id


# ---------------------------------------------------------------- import


@dataclass
class _Row:
    row: int
    org: Org
    item: LedgerItem
    values: dict[str, Any]


def entry_columns(spec: LedgerSpec) -> dict[str, str]:
    """The columns of an entries file: the common ones, then the type's fields by label."""
    return {**ENTRY_COLUMNS, **{f.label: f"field:{f.code}" for f in spec.fields}}


@audit.action({"ledger.entries_imported": "导入台账条目"})
def import_entries(db: Session, *, actor: Actor, type_code: str, source: Path | IO[bytes],
                   filename: str = "") -> ImportCounts:
    """Entries from CSV or XLSX (单位, 事项编码, 状态, 原因, the type's fields …), all or nothing:
    each row checked against the type's rules; the same file again changes nothing."""
    require_ledger_area(actor)
    _, spec = current_type(db, actor=actor, code=type_code)
    columns = entry_columns(spec)
    table = open_table(source, filename=Path(filename or getattr(source, "name", "台账文件")).name,
                       aliases=columns)
    name = table.filename
    missing = [c for c in ("单位", "事项编码", "状态") if columns[c] not in table.header]
    if missing:
        raise ValidationFailed(errors=[RowError(1, c, "缺少必需的列", name) for c in missing],
                               summary=f"{name} 格式不正确")
    errors = ErrorGroups(file=name)
    rules = {org.id: categories for org, categories in required_orgs(db, spec=spec)}
    items = {i.code: i for i in active_items(db, spec=spec)}
    orgs: dict[str, Org | str] = {}
    seen: dict[tuple[int, int], int] = {}
    rows: list[_Row] = []
    existing = {(e.org_id, e.item_id): e for e in db.scalars(select(LedgerEntry).where(
        LedgerEntry.type_code == spec.code))}
    for row, cells in table.rows:
        text = {k: cell_text(cells.get(k)) for k in columns.values()}
        problems: list[tuple[str, str]] = []
        ref = text["org"]
        if ref not in orgs:
            try:
                orgs[ref] = org_service.resolve_org(db, ref=ref)
            except DomainError as exc:
                orgs[ref] = exc.message
        named = orgs[ref]
        org: Org | None = None
        if isinstance(named, str):
            problems.append(("单位", named))
        elif named.id not in rules:
            problems.append(("单位", f"「{named.name}」不在台账「{spec.name}」的填报单位中"))
        elif not may_edit(db, actor, named):
            problems.append(("单位", f"无权填报「{named.name}」的台账"))
        else:
            org = named
        item = items.get(text["item"])
        if item is None:
            problems.append(("事项编码", f"台账中没有事项「{text['item'][:30]}」"))
        elif org is not None and not applies(item, org, rules[org.id]):
            problems.append(("事项编码", f"事项「{item.code}」（{item.category}）不由「{org.name}」承接"))
            item = None
        status = spec.status_labelled(text["status"])
        if status is None:
            problems.append(("状态", f"「{text['status'][:20]}」不是可选值"
                                     f"（{'/'.join(s.label for s in spec.statuses)}）"))
        if org is not None and item is not None:
            first = seen.setdefault((org.id, item.id), row)
            if first != row:
                problems.append(("事项编码", f"与第{first}行是同一单位的同一事项"))
        fields = {f.code: text[f"field:{f.code}"][:200] for f in spec.fields
                  if f"field:{f.code}" in table.header}
        reason = "" if status is not None and status.kind is StatusKind.done else text["reason"]
        if item is not None and status is not None:
            saved = existing.get((org.id, item.id)) if org is not None else None
            # a field the file leaves out keeps what the entry has (filled in on its page)
            known = {**((saved.fields or {}) if saved is not None else {}), **fields}
            problems += _problems(spec, item, status.code, reason, known)
        for column, why in problems:
            errors.append(RowError(row, column, why, name))
        if problems or org is None or item is None or status is None:
            continue
        rows.append(_Row(row, org, item, {"state": status.code, "reason": reason[:100],
                                          "fields": fields, "header": table.header,
                                          "responsible": text["responsible"][:100],
                                          "notes": text["notes"][:2000]}))
    for found in rows:
        entry = existing.get((found.org.id, found.item.id))
        if entry is not None and entry.state != found.values["state"] \
                and all(s.code != found.values["state"] for s in spec.next_statuses(entry.state)):
            errors.append(RowError(found.row, "状态", f"当前为「{spec.status(entry.state).label}」，"
                                                     f"不能改为「{spec.status(found.values['state']).label}」",
                                   name))
    if errors:
        raise ValidationFailed(errors=errors, summary=f"有 {errors.count} 处错误，未导入任何条目")
    if not rows:
        raise ValidationFailed(errors=[RowError(None, None, "文件中没有条目", name)],
                               summary="台账文件为空，未导入")
    counts = _store(db, actor, spec, rows, existing)
    if counts.added or counts.changed:
        audit.record(db, actor=actor, action="ledger.entries_imported",
                     object_type="ledger_entry", object_id=f"{spec.code}/{name}"[:128],
                     changes=counts.as_dict())
    return counts


def _store(db: Session, actor: Actor, spec: LedgerSpec, rows: list[_Row],
           existing: dict[tuple[int, int], LedgerEntry]) -> ImportCounts:
    counts = ImportCounts()
    for found in rows:
        values = dict(found.values)
        header = values.pop("header")
        entry = existing.get((found.org.id, found.item.id))
        if entry is None:
            entry = LedgerEntry(type_code=spec.code, item_id=found.item.id, org_id=found.org.id,
                                fields={}, updated_by=actor.username, state=spec.initial)
            db.add(entry)
            counts.added += 1
        else:
            kept = dict(entry.fields or {})
            same = entry.state == values["state"] and entry.reason == values["reason"] \
                and all(kept.get(k, "") == v for k, v in values["fields"].items()) \
                and ("responsible" not in header or entry.responsible == values["responsible"]) \
                and ("notes" not in header or entry.notes == values["notes"])
            if same:
                counts.unchanged += 1
                continue
            counts.changed += 1
        entry.done_on = _done_on(spec, values["state"], entry if entry.id else None)
        entry.state, entry.reason = values["state"], values["reason"]
        entry.fields = {**(entry.fields or {}), **values["fields"]}
        if "responsible" in header:
            entry.responsible = values["responsible"]
        if "notes" in header:
            entry.notes = values["notes"]
        entry.updated_at, entry.updated_by = utcnow(), actor.username
    db.flush()
    return counts


def visible_required(db: Session, *, actor: Actor, spec: LedgerSpec,
                     under: Org | None = None) -> list[tuple[Org, list[str]]]:
    """The required orgs ``actor`` sees (all below ``under`` when given)."""
    return [(org, categories) for org, categories in required_orgs(db, spec=spec)
            if may_see(db, actor, org) and (under is None or org.path.startswith(under.path))]


def lead_items(db: Session, *, spec: LedgerSpec, lead: Org) -> list[LedgerItem]:
    """The items ``lead`` leads (互联网+监管 indicators)."""
    return list(db.scalars(select(LedgerItem).where(
        LedgerItem.type_code == spec.code, LedgerItem.is_active.is_(True),
        LedgerItem.lead_id == lead.id).order_by(LedgerItem.position)))
