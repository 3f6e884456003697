"""Imports: province score sheets (long and wide) and metric values, all-or-nothing.

Every file is read and validated whole before anything is written; errors name the file, the
row, the column and the reason in Chinese. Importing the same file again changes nothing.
A 总分 or 排名 in the file that disagrees with Tongban's computation is reported, never taken.
"""

from __future__ import annotations

import hashlib
import io
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.assessment import service
from tongban.assessment.models import Adjustment, ImportBatch, Scheme
from tongban.assessment.scheme import METRIC_RE, SchemeDef
from tongban.assessment.service import MetricInput
from tongban.core import audit
from tongban.core.db import read_only_scope, utcnow
from tongban.core.errors import DomainError, ErrorGroups, RowError, ValidationFailed
from tongban.core.export import write_cell
from tongban.core.periods import check_period, is_period
from tongban.core.security import Actor
from tongban.core.tabular import Cell, cell_number, cell_period, cell_text, open_table
from tongban.org import service as org_service
from tongban.org.models import Cohort, Org

ALIASES = {
    "期间": "period", "月份": "period", "考核期": "period", "考核月份": "period",
    "单位": "org", "地区": "org", "市州": "org", "市(州)": "org", "被考核单位": "org",
    "评价对象": "org", "组织": "org", "组织代码": "org",
    "指标": "indicator", "指标代码": "indicator",
    "得分": "points", "分值": "points",
    "说明": "note", "备注": "note", "原因": "note",
    "数据项": "metric", "指标数据": "metric",
    "数值": "value", "值": "value",
    "扣分原因": "扣分说明", "加分原因": "加分说明",
    "合计": "总分", "总得分": "总分", "名次": "排名",
}
DEDUCTION = "扣分"
BONUS = "加分"
SHEET_SOURCE = "province-sheet"


@dataclass
class ImportReport:
    """What an import did."""

    kind: str
    filename: str
    rows: int
    periods: list[str]
    metric_values_changed: int = 0
    adjustments_created: int = 0
    adjustments_voided: int = 0
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    repeated: bool = False
    batch_id: int | None = None
    declared: list[str] = field(default_factory=list)  # data items no one had declared

    @property
    def changed(self) -> int:
        return self.metric_values_changed + self.adjustments_created + self.adjustments_voided

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "filename": self.filename, "rows": self.rows,
                "periods": self.periods, "metric_values_changed": self.metric_values_changed,
                "adjustments_created": self.adjustments_created,
                "adjustments_voided": self.adjustments_voided, "mismatches": self.mismatches,
                "repeated": self.repeated, "batch_id": self.batch_id,
                "declared": self.declared}


@dataclass
class _Adj:
    row: int
    period: str
    org: Org
    points: float
    note: str
    stated: bool = True  # the file gave the reason (not the default 省考核通报扣分)


@dataclass
class _Check:
    row: int
    period: str
    org: Org
    column: str
    given: float


@dataclass
class _Parsed:
    kind: str
    errors: ErrorGroups
    rows: int = 0
    metrics: list[MetricInput] = field(default_factory=list)
    adjustments: list[_Adj] = field(default_factory=list)
    checks: list[_Check] = field(default_factory=list)
    orgs_by_period: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))


class _Context:
    """Resolves orgs, periods and schemes once per value while a file is validated."""

    def __init__(self, db: Session, actor: Actor, cohort: Cohort | None, period: str | None,
                 filename: str | None = None):
        self.db, self.actor, self.cohort, self.period = db, actor, cohort, period
        self.filename = filename
        self.members = {m.org_id for m in cohort.members} if cohort else set()
        self._orgs: dict[str, Org | str] = {}
        self._schemes: dict[str, tuple[Scheme, SchemeDef] | str] = {}

    def org(self, ref: str) -> Org | str:
        if ref not in self._orgs:
            try:
                org = org_service.resolve_org(self.db, ref=ref, actor=self.actor)
            except DomainError as exc:
                self._orgs[ref] = exc.message
            else:
                if self.cohort is not None and org.id not in self.members:
                    self._orgs[ref] = f"「{org.name}」不在考核分组「{self.cohort.name}」中"
                else:
                    self._orgs[ref] = org
        return self._orgs[ref]

    def scheme(self, period: str) -> tuple[Scheme, SchemeDef] | str:
        if period not in self._schemes:
            assert self.cohort is not None
            try:
                scheme = service.scheme_for(self.db, cohort=self.cohort, period=period)
            except DomainError as exc:
                self._schemes[period] = exc.message
            else:
                self._schemes[period] = (scheme, service.scheme_definition(scheme))
        return self._schemes[period]

    def parsed(self, kind: str) -> _Parsed:
        return _Parsed(kind, ErrorGroups(file=self.filename))

    def period_and_org(self, values: dict[str, Cell], row: int,
                       errors: ErrorGroups) -> tuple[str | None, Org | str]:
        """The row's period and org (or the reason the org is refused), errors recorded."""
        period = self.period_of(values.get("period"), row, errors)
        ref = cell_text(values.get("org"))
        org = self.org(ref) if ref else "缺少单位"
        if isinstance(org, str):
            errors.append(RowError(row, "org", org))
        return period, org

    def period_of(self, raw: Cell, row: int, errors: ErrorGroups) -> str | None:
        text = cell_period(raw) if cell_text(raw) else ""
        if not text:
            if self.period:
                return self.period
            errors.append(RowError(row, "period", "缺少考核期：文件中没有考核期列时，请在导入时选定考核期"))
            return None
        if not is_period(text):
            errors.append(RowError(row, "period", f"考核期「{cell_text(raw)}」不是 YYYY-MM 格式"))
            return None
        if self.period and text != self.period:
            errors.append(RowError(row, "period", f"考核期 {text} 与指定的 {self.period} 不符"))
            return None
        return text


def _indicator(definition: SchemeDef, ref: str) -> str | None:
    if definition.indicator(ref) is not None:
        return ref
    code, _, name = ref.partition(" ")  # a template's header: "G1 事项认领（5分）"
    found = definition.indicator(code)
    if found is not None and name.strip() in (
            found.name, indicator_header("", found.name, found.max_points).strip()):
        return code
    by_name = [i.code for _, i in definition.indicators() if i.name == ref]
    return by_name[0] if len(by_name) == 1 else None


def _no_indicator(definition: SchemeDef, ref: str) -> str:
    """Why ``ref`` names no indicator: the candidates when the name is ambiguous or close."""
    scheme = f"考核方案 {definition.code}@{definition.version}"
    named = [(category.name, i) for category, i in definition.indicators() if i.name == ref]
    if len(named) > 1:
        listed = "、".join(f"{i.code}（{category}）" for category, i in named)
        return f"{scheme} 中有 {len(named)} 个指标名为「{ref}」：{listed}；请改用指标代码"
    close = [f"{i.code} {i.name}" for _, i in definition.indicators()
             if ref and (ref in i.name or i.name in ref)][:5]
    hint = f"；相近的有：{'、'.join(close)}" if close else ""
    return f"{scheme} 中没有指标「{ref}」{hint}"


def _parse_long_sheet(ctx: _Context, rows: Any) -> _Parsed:
    parsed = ctx.parsed("sheet-long")
    seen: dict[tuple[str, int, str], int] = {}
    for row, values in rows:
        parsed.rows += 1
        errors = parsed.errors
        period, org = ctx.period_and_org(values, row, errors)
        indicator_ref = cell_text(values.get("indicator"))
        points = cell_number(values.get("points"))
        note = cell_text(values.get("note"))
        if points is None:
            errors.append(RowError(row, "points", f"得分「{cell_text(values.get('points'))}」不是数字"))
        if period is None or isinstance(org, str) or points is None:
            continue
        if indicator_ref in (DEDUCTION, BONUS):
            if not note:
                errors.append(RowError(row, "note", f"{indicator_ref}必须在 note 列写明原因"))
                continue
            if indicator_ref == BONUS and points < 0:
                errors.append(RowError(row, "points", "加分不能为负数"))
                continue
            signed = -abs(points) if indicator_ref == DEDUCTION else points
            key = (period, org.id, f"{indicator_ref}:{note}:{signed}")
            if key in seen:
                errors.append(RowError(row, "indicator", f"与第{seen[key]}行重复"))
                continue
            seen[key] = row
            parsed.adjustments.append(_Adj(row, period, org, signed, note))
            parsed.orgs_by_period[period].add(org.id)
            continue
        scheme = ctx.scheme(period)
        if isinstance(scheme, str):
            errors.append(RowError(row, "period", scheme))
            continue
        _, definition = scheme
        code = _indicator(definition, indicator_ref)
        if code is None:
            errors.append(RowError(row, "indicator", _no_indicator(definition, indicator_ref)))
            continue
        indicator = definition.indicator(code)
        assert indicator is not None
        if indicator.rule.type != "given":
            errors.append(RowError(row, "indicator", f"指标 {code} 由数据计算得分，不能直接导入得分"))
            continue
        if not 0 <= points <= indicator.max_points:
            errors.append(RowError(row, "points", f"得分 {points:g} 超出该指标分值范围 "
                                                  f"[0, {indicator.max_points:g}]"))
            continue
        key = (period, org.id, code)
        if key in seen:
            errors.append(RowError(row, "indicator", f"与第{seen[key]}行重复"))
            continue
        seen[key] = row
        metric = indicator.metrics()[0]
        parsed.metrics.append(MetricInput(period, org.id, metric, points, note))
        parsed.orgs_by_period[period].add(org.id)
    return parsed


#: How a footnote under a province's table starts (注：…, 数据来源：…): not a row of data.
NOTE_STARTS = ("注", "备注", "说明", "数据来源", "制表", "填表", "审核")


def _known_columns(db: Session, cohort: Cohort | None) -> set[str]:
    """The column names an import knows (lower case): aliases, reserved columns and the codes
    and names of the cohort's indicators: what tells a header row from a title row."""
    known = {*ALIASES, *ALIASES.values(), "period", "org", "indicator", "points", "note",
             "metric", "value", DEDUCTION, BONUS, "扣分说明", "加分说明", "序号"}
    if cohort is not None:
        for scheme in db.scalars(select(Scheme)):
            if cohort.code in scheme.cohorts:
                definition = service.scheme_definition(scheme)
                known.update(n for _, i in definition.indicators()
                             for n in (i.code, i.name, f"{i.code} {i.name}",
                                       indicator_header(i.code, i.name, i.max_points)))
    return {k.lower() for k in known}


def _is_footnote(values: dict[str, Cell]) -> bool:
    filled = [cell_text(v) for v in values.values() if cell_text(v)]
    return 0 < len(filled) <= 2 and filled[0].startswith(NOTE_STARTS)


def _parse_wide_sheet(ctx: _Context, header: list[str], rows: Any) -> _Parsed:
    parsed = ctx.parsed("sheet-wide")
    reserved = {"period", "org", DEDUCTION, BONUS, "扣分说明", "加分说明", "总分", "排名",
                "note", "序号"}
    seen: dict[tuple[str, int], int] = {}
    for row, values in rows:
        if _is_footnote(values):
            continue
        parsed.rows += 1
        errors = parsed.errors
        period, org = ctx.period_and_org(values, row, errors)
        if period is None or isinstance(org, str):
            continue
        scheme = ctx.scheme(period)
        if isinstance(scheme, str):
            errors.append(RowError(row, "period", scheme))
            continue
        _, definition = scheme
        if (period, org.id) in seen:
            errors.append(RowError(row, "org", f"「{org.name}」与第{seen[(period, org.id)]}行重复"))
            continue
        seen[(period, org.id)] = row
        parsed.orgs_by_period[period].add(org.id)
        for column in header:
            if column in reserved or not column:
                continue
            code = _indicator(definition, column)
            raw = values.get(column)
            if code is None:
                if parsed.rows == 1:
                    errors.append(RowError(1, column, _no_indicator(definition, column)))
                continue
            if cell_text(raw) == "":
                continue
            points = cell_number(raw)
            indicator = definition.indicator(code)
            assert indicator is not None
            if points is None:
                errors.append(RowError(row, column, f"得分「{cell_text(raw)}」不是数字"))
            elif not 0 <= points <= indicator.max_points:
                errors.append(RowError(row, column, f"得分 {points:g} 超出该指标分值范围 "
                                                     f"[0, {indicator.max_points:g}]"))
            elif indicator.rule.type != "given":
                errors.append(RowError(row, column, f"指标 {code} 由数据计算得分，不能直接导入得分"))
            else:
                parsed.metrics.append(MetricInput(period, org.id, indicator.metrics()[0], points))
        for column, sign in ((DEDUCTION, -1.0), (BONUS, 1.0)):
            raw = values.get(column)
            if cell_text(raw) in ("", "0"):
                continue
            amount = cell_number(raw)
            if amount is None:
                errors.append(RowError(row, column, f"「{cell_text(raw)}」不是数字"))
                continue
            stated = cell_text(values.get(f"{column}说明"))
            parsed.adjustments.append(_Adj(row, period, org, sign * abs(amount),
                                           stated or f"省考核通报{column}", bool(stated)))
        for column in ("总分", "排名"):
            raw = values.get(column)
            if cell_text(raw) == "":
                continue
            number = cell_number(raw)
            if number is None:
                errors.append(RowError(row, column, f"「{cell_text(raw)}」不是数字"))
            else:
                parsed.checks.append(_Check(row, period, org, column, number))
    return parsed


def _parse_metrics(ctx: _Context, rows: Iterable[tuple[int, dict[str, Cell]]], *,
                   metric_column: str | None = None) -> _Parsed:
    """``period, org, metric, value`` rows; or, with ``metric_column``, ``period, org`` and the
    value of that metric in the column named after it."""
    parsed = ctx.parsed("metrics")
    value_column = metric_column or "value"
    seen: dict[tuple[str, int, str], int] = {}
    for row, values in rows:
        parsed.rows += 1
        errors = parsed.errors
        period, org = ctx.period_and_org(values, row, errors)
        metric = metric_column or cell_text(values.get("metric"))
        if not METRIC_RE.match(metric):
            errors.append(RowError(row, "metric",
                                   f"数据项「{metric}」只能由字母、数字和下划线组成，以字母开头"))
        value = cell_number(values.get(value_column))
        if value is None:
            errors.append(RowError(row, value_column,
                                   f"数值「{cell_text(values.get(value_column))}」不是数字"))
        if period is None or isinstance(org, str) or value is None or not METRIC_RE.match(metric):
            continue
        key = (period, org.id, metric)
        if key in seen:
            errors.append(RowError(row, value_column if metric_column else "metric",
                                   f"与第{seen[key]}行重复"))
            continue
        seen[key] = row
        parsed.metrics.append(MetricInput(period, org.id, metric, value))
        parsed.orgs_by_period[period].add(org.id)
    return parsed


def _adjustment_key(cohort: Cohort, adj: _Adj, scheme_code: str) -> str:
    digest = hashlib.sha1(f"{adj.note}|{adj.points:.4f}".encode()).hexdigest()[:16]
    return f"{SHEET_SOURCE}:{scheme_code}:{cohort.code}:{adj.period}:{adj.org.code}:{digest}"


def _apply_adjustments(db: Session, ctx: _Context, parsed: _Parsed, filename: str,
                       report: ImportReport) -> None:
    """Sync the province's 加扣分 for the orgs and periods in the file."""
    assert ctx.cohort is not None
    live: dict[str, list[Adjustment]] = {}
    for period, org_ids in parsed.orgs_by_period.items():
        scheme = ctx.scheme(period)
        assert not isinstance(scheme, str)
        live[period] = list(db.scalars(select(Adjustment).where(
            Adjustment.period == period, Adjustment.org_id.in_(org_ids),
            Adjustment.source == SHEET_SOURCE, Adjustment.scheme_code == scheme[0].code,
            Adjustment.voided_at.is_(None)).order_by(Adjustment.id)))
    wanted: dict[str, _Adj] = {}
    for adj in parsed.adjustments:
        scheme = ctx.scheme(adj.period)
        assert not isinstance(scheme, str)
        key = _adjustment_key(ctx.cohort, adj, scheme[0].code)
        if not adj.stated:
            # A file that gives the points without the reason keeps the reason on record
            # (re-importing the province's bare sheet must not lose "13个异常办事指南未整改").
            kept = next((old.key for old in live.get(adj.period, ())
                         if old.org_id == adj.org.id and round(old.points, 4) == round(
                             adj.points, 4) and old.key and old.key not in wanted), None)
            key = kept or key
        wanted[key] = adj
    for period in parsed.orgs_by_period:
        for old in live[period]:
            if old.key not in wanted:
                service.void_adjustment(db, actor=ctx.actor, adjustment_id=old.id,
                                        reason=f"被重新导入的考核通报 {filename} 取代")
                report.adjustments_voided += 1
    for key, adj in wanted.items():
        scheme = ctx.scheme(adj.period)
        assert not isinstance(scheme, str)
        _, created = service.record_adjustment(
            db, actor=ctx.actor, period=adj.period, org=adj.org, points=adj.points,
            reason=adj.note, scheme_code=scheme[0].code, source=SHEET_SOURCE,
            source_ref=f"{filename} 第{adj.row}行", key=key)
        report.adjustments_created += int(created)


def _compare(db: Session, ctx: _Context, parsed: _Parsed, report: ImportReport) -> None:
    """Report every 总分/排名 in the file that differs from what Tongban computes."""
    assert ctx.cohort is not None
    computed: dict[str, dict[int, tuple[float, int]]] = {}
    for period in {c.period for c in parsed.checks}:
        scheme = ctx.scheme(period)
        assert not isinstance(scheme, str)
        definition, scores = service.compute_scores(db, scheme=scheme[0], cohort=ctx.cohort,
                                                    period=period)
        computed[period] = {s.org_id: (s.total, s.rank) for s in scores}
        decimals = definition.decimals
        for check in (c for c in parsed.checks if c.period == period):
            total, rank = computed[period][check.org.id]
            ours = round(total, decimals) if check.column == "总分" else float(rank)
            theirs = round(check.given, decimals) if check.column == "总分" else check.given
            if ours != theirs:
                report.mismatches.append({
                    "row": check.row, "column": check.column, "org": check.org.name,
                    "in_file": check.given, "computed": ours,
                    "reason": f"第{check.row}行 {check.org.name}：文件{check.column} "
                              f"{check.given:g}，按方案计算 {ours:g}",
                })


def _refuse_unless_clean(parsed: _Parsed, name: str) -> None:
    """All or nothing: a file with any error, or with no data row, imports nothing."""
    if parsed.errors:
        raise ValidationFailed(errors=parsed.errors,
                               summary=f"{name} 有 {parsed.errors.count} 处错误，未导入任何数据")
    if parsed.rows == 0:
        raise ValidationFailed(errors=[RowError(None, None, "文件中没有数据行", name)],
                               summary=f"{name} 无法导入")


@audit.action({"import.applied": "导入考核数据"})
def import_file(
    db: Session,
    *,
    actor: Actor,
    source: Path | IO[bytes],
    filename: str | None = None,
    cohort_code: str | None = None,
    period: str | None = None,
) -> ImportReport:
    """Import a province score sheet (long or wide) or a metric-value file, all or nothing."""
    org_service.require_manager(actor, "导入考核数据")
    if period is not None:
        check_period(period)
    raw = source.read_bytes() if isinstance(source, Path) else source.read()
    name = filename or (source.name if isinstance(source, Path) else "上传文件")
    # The file is read whole (open_table reads an XLSX ahead) before this request's own
    # transaction begins: on SQLite it holds the write lock only to check and write.
    with read_only_scope(beside=db) as reading:
        known = _known_columns(reading, service.get_cohort(reading, code=cohort_code)
                               if cohort_code else None)
    table = open_table(io.BytesIO(raw), filename=name, aliases=ALIASES,
                       header_hint=lambda cell: cell.lower() in known)
    cohort = service.get_cohort(db, code=cohort_code) if cohort_code else None
    columns = set(table.header)
    ctx = _Context(db, actor, cohort, period, name)
    if {"metric", "value"} <= columns:
        parsed = _parse_metrics(ctx, table.rows)
    else:
        if cohort is None:
            raise DomainError("导入考核通报得分须选定考核分组")
        if {"indicator", "points"} <= columns:
            parsed = _parse_long_sheet(ctx, table.rows)
        elif "org" in columns:
            parsed = _parse_wide_sheet(ctx, table.header, table.rows)
        else:
            raise ValidationFailed(
                errors=[RowError(1, None, "无法识别文件格式：需要 period,org,indicator,points,note"
                                          "（长表）、每行一个单位且每列一个指标代码（宽表），"
                                          "或 period,org,metric,value（数据项）", name)],
                summary=f"{name} 无法导入")
    _refuse_unless_clean(parsed, name)
    digest = hashlib.sha256(raw).hexdigest()
    report = ImportReport(kind=parsed.kind, filename=name, rows=parsed.rows,
                          periods=sorted(parsed.orgs_by_period))
    report.repeated = db.scalar(select(ImportBatch.id).where(
        ImportBatch.content_hash == digest)) is not None
    if parsed.kind == "metrics":  # a sheet's values are its given indicators' points
        report.declared = service.declare_imported(
            db, codes={v.metric for v in parsed.metrics}, source=f"import:{name}")
    report.metric_values_changed = service.record_metric_values(
        db, actor=actor, values=parsed.metrics, source=f"import:{name}",
        declare=parsed.kind == "metrics")
    if cohort is not None and parsed.kind != "metrics":
        _apply_adjustments(db, ctx, parsed, name, report)
        _compare(db, ctx, parsed, report)
    batch = ImportBatch(kind=parsed.kind, filename=name, content_hash=digest,
                        cohort_code=cohort.code if cohort else "", periods=report.periods,
                        rows=parsed.rows, changed=report.changed, report=report.as_dict(),
                        created_by=actor.username, created_at=utcnow())
    db.add(batch)
    db.flush()
    report.batch_id = batch.id
    audit.record(db, actor=actor, action="import.applied", object_type="import_batch",
                 object_id=batch.id,
                 changes={"file": name, "kind": parsed.kind, "rows": parsed.rows,
                          "changed": report.changed, "mismatches": len(report.mismatches)})
    return report


def sheet_template(db: Session, *, actor: Actor, scheme_ref: str) -> tuple[str, bytes]:
    """A wide XLSX template of a scheme's province sheet, laid out as the province sends it
    (title row, categories merged over the indicators that take given points, each indicator
    with its points, one row per member of the scheme's first cohort, 扣分/加分 with their
    reasons, 总分/排名 to check); filled in, it imports as is. Every text goes through
    ``write_cell``: a scheme's or org's name is never a formula. Returns its file name (in
    words: the scheme's name and version) and bytes."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    org_service.require_manager(actor, "下载考核通报模板")
    scheme = service.get_scheme(db, actor=actor, ref=scheme_ref)
    definition = service.scheme_definition(scheme)
    given = [(c, i) for c, i in definition.indicators() if i.rule.type == "given"]
    tail = [DEDUCTION, "扣分说明", BONUS, "加分说明", "总分", "排名"]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "考核通报"
    width = 2 + len(given) + len(tail)

    def put_row(row: int, values: Sequence[str | int | None]) -> None:
        for column, value in enumerate(values, start=1):
            if value is not None:
                write_cell(sheet, row, column, value)

    put_row(1, [f"{scheme.name}（{scheme.version}版）考核通报得分"])
    sheet.merge_cells(start_row=1, end_row=1, start_column=1, end_column=width)
    sheet["A1"].font = Font(bold=True, size=14)
    uppers: list[str | int | None] = ["序号", "单位"]
    for index, (category, _) in enumerate(given):
        first = index == 0 or given[index - 1][0].code != category.code
        uppers.append(f"{category.name}（{category.max_points:g}分）" if first else None)
    put_row(2, [*uppers, *tail])
    put_row(3, [None, None, *[indicator_header(i.code, i.name, i.max_points) for _, i in given]])
    column = 3
    for _, group in itertools.groupby(given, key=lambda pair: pair[0].code):
        span = len(list(group))
        if span > 1:
            sheet.merge_cells(start_row=2, end_row=2, start_column=column,
                              end_column=column + span - 1)
        column += span
    for offset in (1, 2, *range(3 + len(given), width + 1)):
        sheet.merge_cells(start_row=2, end_row=3, start_column=offset, end_column=offset)
    for cells in sheet.iter_rows(min_row=2, max_row=3):
        for cell in cells:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    members = (service.get_cohort(db, code=scheme.cohorts[0]).members if scheme.cohorts else [])
    row = 4
    for number, member in enumerate(sorted(members, key=lambda m: m.org.code), start=1):
        put_row(row, [number, member.org.name])
        row += 1
    put_row(row + 1, ["注：得分填写各指标满分以内的数字；扣分、加分填写正数并在说明中写明原因；"
                      "总分、排名仅用于核对，不会被采用。"])
    sheet.column_dimensions["B"].width = 18
    buffer = io.BytesIO()
    book.save(buffer)
    return f"{scheme.name}（{scheme.version}版）考核通报模板.xlsx", buffer.getvalue()


def indicator_header(code: str, name: str, max_points: float) -> str:
    """An indicator's column in the template: its code, name and points (G1 事项认领（5分）)."""
    return f"{code} {name}（{max_points:g}分）"


def recent_imports(db: Session, *, actor: Actor, limit: int = 20) -> list[ImportBatch]:
    org_service.require_manager(actor, "查看导入记录")
    return list(db.scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit)))


def record_metric_rows(
    db: Session, *, actor: Actor, rows: list[dict[str, Cell]], source: str
) -> int:
    """Validate metric rows from the API (``period, org, metric, value``) and record them."""
    org_service.require_manager(actor, "写入考核数据")
    parsed = _parse_metrics(_Context(db, actor, None, None), enumerate(rows, start=1))
    if parsed.errors:
        raise ValidationFailed(errors=parsed.errors,
                               summary=f"有 {parsed.errors.count} 处错误，未写入任何数据")
    return service.record_metric_values(db, actor=actor, values=parsed.metrics, source=source)


def import_metric_column(db: Session, *, actor: Actor, rows: Iterable[tuple[int, dict[str, Cell]]],
                         metric: str, filename: str) -> int:
    """A file's ``period, org, <metric>`` rows as values of ``metric``, all or nothing; errors
    name the file's rows and the metric's column."""
    org_service.require_manager(actor, "写入考核数据")
    parsed = _parse_metrics(_Context(db, actor, None, None, filename), rows, metric_column=metric)
    _refuse_unless_clean(parsed, filename)
    return service.record_metric_values(db, actor=actor, values=parsed.metrics,
                                        source=f"import:{filename}")
