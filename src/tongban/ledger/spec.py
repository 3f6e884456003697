"""A ledger type as data: its YAML parsed and validated, every problem named with its YAML path
(``statuses[2].kind``), as schemes are.

A type names the categories of its items and the orgs that must complete them (every township,
or named orgs, each for some categories), the statuses an entry moves through (each of a kind:
open, done, not applicable; ``to`` lists where it may go next), the reasons an entry may give,
the fields an entry carries (some required for a category once an entry is done: the 委托
rule), an optional deadline, a target, and the metrics it writes (declared in
``ledger.metrics``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tongban.core.errors import RowError, ValidationFailed
from tongban.ledger.enums import StatusKind

CODE = r"^[a-z0-9][a-z0-9_-]{0,47}$"
#: The roles of the metrics a type may write, and what each counts per org and month.
METRIC_ROLES = {"applicable": "应完成事项数（总数减不适用）", "done": "已完成事项数",
                "landed": "已完成且当期有办件的事项数", "target": "目标数",
                "list_compiled": "已编制权责清单的单位数", "qualified_staff": "考试合格的执法人员数"}
#: What a type may record of each org as a whole.
RECORDS = {"list_compiled": "权责清单", "qualified_staff": "执法资格考试"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StatusDef(_Strict):
    code: str = Field(pattern=CODE)
    label: str = Field(min_length=1, max_length=20)
    kind: StatusKind
    #: The statuses an entry may move to from this one (all the others when left out).
    to: list[str] | None = None
    #: Whether moving to this status asks for a reason from the list.
    needs_reason: bool = False


class OrgRule(_Strict):
    """Orgs that must complete the ledger: every org of a level (in the city, or ``under``
    one org: every township of a county), or one org, for some categories (all when left
    out)."""

    level: str | None = None
    under: str | None = None
    org: str | None = None
    categories: list[str] = []


class FieldDef(_Strict):
    code: str = Field(pattern=CODE)
    label: str = Field(min_length=1, max_length=20)
    #: Required before an entry of these categories counts as done (empty: never required).
    required_for: list[str] = []


class LedgerSpec(_Strict):
    code: str = Field(pattern=CODE)
    name: str = Field(min_length=1, max_length=60)
    version: str = Field(min_length=1, max_length=20)
    description: str = ""
    categories: list[str] = Field(min_length=1)
    orgs: list[OrgRule] = Field(min_length=1)
    statuses: list[StatusDef] = Field(min_length=2)
    initial: str
    reasons: list[str] = []
    fields: list[FieldDef] = []
    due_on: date | None = None
    target: int | None = Field(default=None, ge=0)
    #: Figures imported per month: ``cases`` (办件量, for 落地率) or ``value`` (an indicator's).
    figures: list[str] = []
    #: Records of each org as a whole: ``list_compiled`` (权责清单 编制), ``qualified_staff``
    #: (执法资格考试 results imported).
    records: list[str] = []
    metrics: dict[str, str] = {}

    def status(self, code: str) -> StatusDef:
        return next(s for s in self.statuses if s.code == code)

    def status_labelled(self, text: str) -> StatusDef | None:
        return next((s for s in self.statuses if text in (s.label, s.code)), None)

    def next_statuses(self, code: str) -> list[StatusDef]:
        current = self.status(code)
        allowed = current.to if current.to is not None else [
            s.code for s in self.statuses if s.code != code]
        return [s for s in self.statuses if s.code in allowed]

    def required_fields(self, category: str) -> list[FieldDef]:
        return [f for f in self.fields if category in f.required_for]

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), ensure_ascii=False,
                                         sort_keys=True).encode()).hexdigest()


_REASONS = {
    "missing": "缺少必填项", "extra_forbidden": "不认识的键", "string_type": "应为文字",
    "list_type": "应为列表", "dict_type": "应为映射（键: 值）", "model_type": "应为映射（键: 值）",
    "too_short": "不能为空", "string_too_short": "不能为空", "string_too_long": "过长",
    "string_pattern_mismatch": "格式不符（小写字母、数字、- 和 _）", "enum": "不是可选值",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）", "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_type": "应为日期（YYYY-MM-DD）", "int_parsing": "应为整数", "int_type": "应为整数",
    "greater_than_equal": "不能为负数", "bool_type": "应为是/否", "bool_parsing": "应为是/否",
}


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _reason(error: Any) -> str:
    if error["type"] == "enum":
        return f"不是可选值（{'/'.join(k.value for k in StatusKind)}）"
    return _REASONS.get(error["type"], str(error.get("msg", "不正确")))


def _semantic(spec: LedgerSpec, known_metrics: dict[str, str]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    codes = [s.code for s in spec.statuses]
    for n, status in enumerate(spec.statuses):
        if codes.index(status.code) != n:
            problems.append((f"statuses[{n}].code", f"状态「{status.code}」重复"))
        for m, target in enumerate(status.to or []):
            if target not in codes:
                problems.append((f"statuses[{n}].to[{m}]", f"没有状态「{target}」"))
    if spec.initial not in codes:
        problems.append(("initial", f"没有状态「{spec.initial}」"))
    elif spec.status(spec.initial).kind is not StatusKind.open:
        problems.append(("initial", "初始状态应为未完成（open）一类"))
    if not any(s.kind is StatusKind.done for s in spec.statuses):
        problems.append(("statuses", "至少要有一个已完成（done）一类的状态"))
    if len(set(spec.categories)) != len(spec.categories):
        problems.append(("categories", "类别重复"))
    for n, rule in enumerate(spec.orgs):
        if (rule.level is None) == (rule.org is None):
            problems.append((f"orgs[{n}]", "须给出 level 或 org，二者选一"))
        if rule.under is not None and rule.level is None:
            problems.append((f"orgs[{n}].under", "under 只能与 level 一起使用"))
        if rule.level is not None and rule.level not in ("township", "county", "department"):
            problems.append((f"orgs[{n}].level", "应为 township、county 或 department"))
        for m, category in enumerate(rule.categories):
            if category not in spec.categories:
                problems.append((f"orgs[{n}].categories[{m}]", f"没有类别「{category}」"))
    for n, item in enumerate(spec.fields):
        for m, category in enumerate(item.required_for):
            if category not in spec.categories:
                problems.append((f"fields[{n}].required_for[{m}]", f"没有类别「{category}」"))
    for n, figure in enumerate(spec.figures):
        if figure not in ("cases", "value"):
            problems.append((f"figures[{n}]", "应为 cases 或 value"))
    for n, record in enumerate(spec.records):
        if record not in RECORDS:
            problems.append((f"records[{n}]", f"应为 {' 或 '.join(RECORDS)}"))
    for role in ("list_compiled", "qualified_staff"):
        if role in spec.metrics and role not in spec.records:
            problems.append((f"metrics.{role}", f"records 须含 {role}"))
    for role, code in spec.metrics.items():
        if role not in METRIC_ROLES:
            problems.append((f"metrics.{role}",
                             f"不认识的用途（{'/'.join(METRIC_ROLES)}）"))
        elif code not in known_metrics:
            from tongban.assessment.metrics import unknown_reason

            problems.append((f"metrics.{role}", unknown_reason(code, known_metrics)))
    if "landed" in spec.metrics and "cases" not in spec.figures:
        problems.append(("metrics.landed", "落地数要有办件量（figures 含 cases）"))
    return problems


def parse_ledger(text: str, *, filename: str = "",
                 known_metrics: dict[str, str] | None = None) -> LedgerSpec:
    """Parse and validate a ledger type's YAML; every problem reported with its path.
    ``known_metrics``: the codes the type may write (``ledger.metrics``), by name."""
    from tongban.ledger.metrics import METRICS

    known = known_metrics if known_metrics is not None else {
        code: m.name for code, m in METRICS.items()}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ValidationFailed(errors=[RowError(
            mark.line + 1 if mark is not None else None, None,
            f"YAML 语法错误：{getattr(exc, 'problem', exc)}", filename or None)],
            summary="台账类型文件无法解析") from exc
    if not isinstance(data, dict):
        raise ValidationFailed(errors=[RowError(None, None, "文件内容应为一个映射（键: 值）",
                                                filename or None)],
                               summary="台账类型文件格式不正确")
    if isinstance(data.get("version"), int | float):
        data["version"] = str(data["version"])
    try:
        spec = LedgerSpec.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(errors=[RowError(None, _path(e["loc"]), _reason(e),
                                                filename or None) for e in exc.errors()],
                               summary="台账类型校验未通过") from exc
    problems = _semantic(spec, known)
    if problems:
        raise ValidationFailed(errors=[RowError(None, path, reason, filename or None)
                                       for path, reason in problems],
                               summary="台账类型校验未通过")
    return spec

