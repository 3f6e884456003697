"""Declared metrics: the one contract between the feeders that write numbers and the schemes,
reports, pages and exports that read them.

Each feeder declares every metric it writes once, in its own ``metrics.py`` (code, Chinese
name, unit, kind and, for a ratio, its numerator and denominator codes), through
:func:`declare`; ``tongban.metrics_registry`` imports those modules, and the entry points (the
app, the CLI, the tests) import it, as they import every model: the assessment imports no
feeder, and :func:`declared` refuses to answer before the registry is complete. Writers use
the declared codes, never string literals; ``service.record_metric_values`` refuses a
feeder's undeclared metric; a scheme naming a metric nobody declared is refused at load with
its YAML path and the nearest known codes; reports read a ratio's parts through
:func:`figure`, which says 无数据 and why when a part is missing, never 0.

Metrics a file brings that no feeder declares (the province's own data items) are declared by
the import itself and kept apart (``models.ImportedMetric``); a scheme may also declare the data
items it expects from files (its ``data_items``), so that it loads before their first import.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from tongban.core.choices import Choice
from tongban.core.numbers import count, precise, rate_of


class MetricKind(Choice):
    """What a metric's number is."""

    counted = "count", "计数"
    amount = "amount", "数值"
    ratio = "ratio", "比率"


#: The owner of metrics that files and manual entry bring (declared by the import).
IMPORTED = "import"


@dataclass(frozen=True)
class Metric:
    """One declared metric. A ratio names its numerator codes (summed) and its denominator
    code; its value is numerator ÷ denominator, shown with both ("98.2%（1234/1256）")."""

    code: str
    name: str
    unit: str = ""
    kind: MetricKind = MetricKind.counted
    numerator: tuple[str, ...] = ()
    denominator: str = ""
    owner: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if (self.kind is MetricKind.ratio) != bool(self.numerator and self.denominator):
            raise ValueError(f"metric {self.code}: a ratio and only a ratio names its parts")

    @property
    def parts(self) -> tuple[str, ...]:
        return (*self.numerator, self.denominator) if self.denominator else ()


def count_of(code: str, name: str, unit: str = "件", description: str = "") -> Metric:
    return Metric(code, name, unit, MetricKind.counted, description=description)


def amount_of(code: str, name: str, unit: str = "", description: str = "") -> Metric:
    return Metric(code, name, unit, MetricKind.amount, description=description)


def ratio_of(code: str, name: str, numerator: str | Iterable[str], denominator: str,
             description: str = "") -> Metric:
    parts = (numerator,) if isinstance(numerator, str) else tuple(numerator)
    return Metric(code, name, "%", MetricKind.ratio, parts, denominator,
                  description=description)


_DECLARED: dict[str, Metric] = {}
_complete = False


def declare(owner: str, *metrics: Metric) -> dict[str, Metric]:
    """Declare ``metrics`` as written by ``owner`` (a feeder's source name); returns them by
    code. A code declared twice, by another owner or differently, is a programming error."""
    out: dict[str, Metric] = {}
    for metric in metrics:
        owned = replace(metric, owner=owner)
        known = _DECLARED.get(metric.code)
        if known is not None and known != owned:
            raise ValueError(f"metric {metric.code} declared twice ({known.owner}, {owner})")
        out[metric.code] = owned
    for metric in out.values():
        missing = [p for p in metric.parts if p not in _DECLARED and p not in out]
        if missing:
            raise ValueError(f"metric {metric.code}: parts not declared: {missing}")
    _DECLARED.update(out)
    return out


def registry_complete() -> None:
    """Called by ``tongban.metrics_registry`` once every feeder has declared."""
    global _complete
    _complete = True


def declared() -> Mapping[str, Metric]:
    """Every metric a feeder declares."""
    if not _complete:
        raise RuntimeError("metric declarations not loaded: import tongban.metrics_registry")
    return _DECLARED


def nearest(code: str, known: Iterable[str]) -> list[str]:
    """The known codes close to a mistyped one: the closest, and at most two more nearly as
    close (a one-letter slip names its intended code alone)."""
    found = difflib.get_close_matches(code, list(known), n=3, cutoff=0.6)
    if not found:
        return []
    score = [difflib.SequenceMatcher(None, code, f).ratio() for f in found]
    return [f for f, r in zip(found, score, strict=True) if r >= score[0] - 0.08]


def unknown_reason(code: str, known: Iterable[str]) -> str:
    """Why ``code`` is refused, with the nearest known codes ("是否为 ontime_rectified？")."""
    close = nearest(code, known)
    hint = f"，是否为 {'、'.join(close)}？" if close else "（没有任何来源声明这一数据项）"
    return f"{code}: 未知数据项{hint}"


@dataclass(frozen=True)
class Figure:
    """A declared metric as a score sheet froze it: its value with its parts, or why it has
    none (``missing``: 无数据 and the reason; a ratio with a zero denominator has no value)."""

    metric: Metric
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    missing: str = ""

    @property
    def known(self) -> bool:
        return not self.missing

    def text(self) -> str:
        """As a report prints it: 98.2%（1234/1256）, 34件, 0.93, or 无数据（…）."""
        if self.missing:
            return f"无数据（{self.missing}）"
        if self.metric.kind is MetricKind.ratio:
            return rate_of(self.numerator or 0.0, self.denominator or 0.0)
        if self.metric.kind is MetricKind.counted:
            return f"{count(self.value or 0.0)}{self.metric.unit}"
        return f"{precise(self.value)}{self.metric.unit}"


def figure(values: Mapping[str, float], code: str,
           metrics: Mapping[str, Metric] | None = None) -> Figure:
    """The declared metric ``code`` read from a sheet's frozen ``values``: a ratio from its
    parts (all must be there), anything else from its own value."""
    known = metrics if metrics is not None else declared()
    metric = known[code]
    if metric.kind is not MetricKind.ratio:
        if code not in values:
            return Figure(metric, None, missing=f"成绩单未含「{metric.name}」")
        return Figure(metric, values[code])
    absent = [p for p in metric.parts if p not in values]
    if absent:
        names = "、".join(f"「{known[p].name}」" for p in absent)
        return Figure(metric, None, missing=f"成绩单未含{names}")
    numerator = sum(values[p] for p in metric.numerator)
    denominator = values[metric.denominator]
    if not denominator:
        return Figure(metric, None, numerator, denominator,
                      missing=f"「{known[metric.denominator].name}」为0")
    return Figure(metric, round(numerator / denominator, 4), numerator, denominator)
