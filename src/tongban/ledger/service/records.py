"""What a ledger records of each org as a whole: its 权责清单 compiled or not, and the
law-enforcement exam results of its staff (imported; those who passed are its qualified
staff). Both imports all or nothing, the same file twice changes nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.core import audit
from tongban.core.db import utcnow
from tongban.core.errors import DomainError, ErrorGroups, RowError, ValidationFailed
from tongban.core.security import Actor
from tongban.core.tabular import ImportCounts, Table, cell_text, open_table
from tongban.ledger.models import LedgerExam, LedgerOrgRecord
from tongban.ledger.service.entries import may_edit, required_orgs
from tongban.ledger.service.types import current_type, require_ledger_area
from tongban.ledger.spec import RECORDS, LedgerSpec
from tongban.org import service as org_service
from tongban.org.models import Org

LIST_COLUMNS = {"单位": "org", "权责清单": "compiled", "编制日期": "on"}
EXAM_COLUMNS = {"单位": "org", "姓名": "person", "考试日期": "on", "考试结果": "result"}
_YES, _NO = ("是", "已编制", "y", "yes", "1"), ("否", "未编制", "n", "no", "0")
_PASS, _FAIL = ("合格", "通过", "是"), ("不合格", "未通过", "否")


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.replace("/", "-")[:10])
    except ValueError:
        return None


def _org(db: Session, actor: Actor, spec: LedgerSpec, ref: str, rules: set[int],
         cache: dict[str, Org | str]) -> Org | str:
    if ref not in cache:
        try:
            cache[ref] = org_service.resolve_org(db, ref=ref)
        except DomainError as exc:
            cache[ref] = exc.message
    found = cache[ref]
    if isinstance(found, str):
        return found
    if found.id not in rules:
        return f"「{found.name}」不在台账「{spec.name}」的填报单位中"
    if not may_edit(db, actor, found):
        return f"无权填报「{found.name}」的台账"
    return found


def _open(source: Path | IO[bytes], filename: str, columns: dict[str, str],
          default: str) -> tuple[str, Table]:
    table = open_table(source, filename=Path(filename or getattr(source, "name", default)).name,
                       aliases=columns)
    missing = [c for c, k in columns.items() if k not in table.header and k != "on"]
    if missing:
        raise ValidationFailed(errors=[RowError(1, c, "缺少必需的列", table.filename)
                                       for c in missing],
                               summary=f"{table.filename} 格式不正确")
    return table.filename, table


def _spec_with(db: Session, actor: Actor, type_code: str, record: str) -> LedgerSpec:
    require_ledger_area(actor)
    _, spec = current_type(db, actor=actor, code=type_code)
    if record not in spec.records:
        raise DomainError(f"台账「{spec.name}」不记录{RECORDS[record]}")
    return spec


@audit.action({"ledger.lists_imported": "导入权责清单编制情况"})
def import_lists(db: Session, *, actor: Actor, type_code: str, source: Path | IO[bytes],
                 filename: str = "") -> ImportCounts:
    """Whether each org's 权责清单 is compiled (单位, 权责清单 是/否, 编制日期)."""
    spec = _spec_with(db, actor, type_code, "list_compiled")
    name, table = _open(source, filename, LIST_COLUMNS, "权责清单.csv")
    rules = {org.id for org, _ in required_orgs(db, spec=spec)}
    cache: dict[str, Org | str] = {}
    errors = ErrorGroups(file=name)
    found: dict[int, tuple[int, bool, date | None]] = {}
    for row, cells in table.rows:
        text = {k: cell_text(cells.get(k)) for k in LIST_COLUMNS.values()}
        org = _org(db, actor, spec, text["org"], rules, cache)
        if isinstance(org, str):
            errors.append(RowError(row, "单位", org, name))
        compiled = True if text["compiled"] in _YES else False if text["compiled"] in _NO else None
        if compiled is None:
            errors.append(RowError(row, "权责清单", f"「{text['compiled'][:10]}」应为是或否", name))
        on = _date(text["on"]) if text["on"] else None
        if text["on"] and on is None:
            errors.append(RowError(row, "编制日期", f"「{text['on'][:20]}」不是日期", name))
        if isinstance(org, Org) and compiled is not None:
            if org.id in found:
                errors.append(RowError(row, "单位", f"与第{found[org.id][0]}行是同一单位", name))
            else:
                found[org.id] = (row, compiled, on if compiled else None)
    if errors:
        raise ValidationFailed(errors=errors, summary=f"有 {errors.count} 处错误，未导入")
    counts = ImportCounts()
    known = {r.org_id: r for r in db.scalars(select(LedgerOrgRecord).where(
        LedgerOrgRecord.type_code == spec.code))}
    for org_id, (_, compiled, on) in found.items():
        record = known.get(org_id)
        if record is None:
            db.add(LedgerOrgRecord(type_code=spec.code, org_id=org_id, list_compiled=compiled,
                                   compiled_on=on, updated_by=actor.username))
            counts.added += 1
        elif (record.list_compiled, record.compiled_on) == (compiled, on):
            counts.unchanged += 1
        else:
            record.list_compiled, record.compiled_on = compiled, on
            record.updated_at, record.updated_by = utcnow(), actor.username
            counts.changed += 1
    db.flush()
    if counts.added or counts.changed:
        audit.record(db, actor=actor, action="ledger.lists_imported", object_type="ledger_type",
                     object_id=f"{spec.code}/{name}"[:128], changes=counts.as_dict())
    return counts


@audit.action({"ledger.exams_imported": "导入执法资格考试结果"})
def import_exams(db: Session, *, actor: Actor, type_code: str, source: Path | IO[bytes],
                 filename: str = "") -> ImportCounts:
    """Exam results (单位, 姓名, 考试日期, 考试结果 合格/不合格), one per person and date."""
    spec = _spec_with(db, actor, type_code, "qualified_staff")
    name, table = _open(source, filename, EXAM_COLUMNS, "考试结果.csv")
    rules = {org.id for org, _ in required_orgs(db, spec=spec)}
    cache: dict[str, Org | str] = {}
    errors = ErrorGroups(file=name)
    found: dict[tuple[int, str, date], tuple[int, bool]] = {}
    for row, cells in table.rows:
        text = {k: cell_text(cells.get(k)) for k in EXAM_COLUMNS.values()}
        org = _org(db, actor, spec, text["org"], rules, cache)
        if isinstance(org, str):
            errors.append(RowError(row, "单位", org, name))
        if not text["person"] or len(text["person"]) > 50:
            errors.append(RowError(row, "姓名", "缺少姓名，或超过50字", name))
        on = _date(text["on"])
        if on is None:
            errors.append(RowError(row, "考试日期", f"「{text['on'][:20]}」不是日期", name))
        passed = True if text["result"] in _PASS else False if text["result"] in _FAIL else None
        if passed is None:
            errors.append(RowError(row, "考试结果", f"「{text['result'][:10]}」应为合格或不合格",
                                   name))
        if isinstance(org, Org) and on is not None and passed is not None and text["person"]:
            key = (org.id, text["person"][:50], on)
            if key in found:
                errors.append(RowError(row, "姓名", f"与第{found[key][0]}行是同一人同一场考试", name))
            else:
                found[key] = (row, passed)
    if errors:
        raise ValidationFailed(errors=errors, summary=f"有 {errors.count} 处错误，未导入")
    counts = ImportCounts()
    known = {(e.org_id, e.person, e.exam_on): e for e in db.scalars(select(LedgerExam).where(
        LedgerExam.type_code == spec.code))}
    for (org_id, person, on), (_, passed) in found.items():
        exam = known.get((org_id, person, on))
        if exam is None:
            db.add(LedgerExam(type_code=spec.code, org_id=org_id, person=person, exam_on=on,
                              passed=passed))
            counts.added += 1
        elif exam.passed == passed:
            counts.unchanged += 1
        else:
            exam.passed = passed
            counts.changed += 1
    db.flush()
    if counts.added or counts.changed:
        audit.record(db, actor=actor, action="ledger.exams_imported", object_type="ledger_type",
                     object_id=f"{spec.code}/{name}"[:128], changes=counts.as_dict())
    return counts


def org_records(db: Session, *, spec: LedgerSpec,
                org_ids: list[int]) -> dict[int, tuple[bool, int]]:
    """Each org's 权责清单 (compiled or not) and its qualified staff (people who passed)."""
    if not spec.records or not org_ids:
        return {}
    compiled = {r.org_id: r.list_compiled for r in db.scalars(select(LedgerOrgRecord).where(
        LedgerOrgRecord.type_code == spec.code, LedgerOrgRecord.org_id.in_(org_ids)))}
    qualified = {org_id: n for org_id, n in db.execute(
        select(LedgerExam.org_id, func.count(func.distinct(LedgerExam.person)))
        .where(LedgerExam.type_code == spec.code, LedgerExam.passed.is_(True),
               LedgerExam.org_id.in_(org_ids)).group_by(LedgerExam.org_id))}
    return {i: (compiled.get(i, False), qualified.get(i, 0)) for i in org_ids}
