"""Metric values: the one way a feeder or an import writes a number into the assessment, and the
metrics known to it (declared by feeders in code, by files and schemes in ``imported_metric``)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tongban.assessment.metrics import IMPORTED, Metric, MetricKind, declared
from tongban.assessment.models import ImportedMetric, MetricValue
from tongban.core import audit
from tongban.core.db import utcnow
from tongban.core.errors import (
    DomainError,
)
from tongban.core.security import Actor


@dataclass(frozen=True)
class MetricInput:
    """One metric value to record."""

    period: str
    org_id: int
    metric: str
    value: float
    evidence: str = ""


def known_metrics(db: Session) -> dict[str, Metric]:
    """Every metric the assessment knows: the feeders' declarations, then the data items files
    and schemes declared (owner ``import``)."""
    found = dict(declared())
    for row in db.scalars(select(ImportedMetric)):
        found.setdefault(row.code, Metric(row.code, row.name, row.unit, MetricKind.amount,
                                          owner=IMPORTED, description=f"由「{row.source}」声明"))
    return found


def imported_metrics(db: Session) -> list[ImportedMetric]:
    """The data items declared by files and schemes (no feeder declares them), by code."""
    feeders = declared()
    return [m for m in db.scalars(select(ImportedMetric).order_by(ImportedMetric.code))
            if m.code not in feeders]


def declare_imported(db: Session, *, codes: Iterable[str], source: str,
                     names: Mapping[str, tuple[str, str]] | None = None) -> list[str]:
    """Declare the data items among ``codes`` nobody declared yet, as brought by ``source``
    (``names``: code → (Chinese name, unit) where the file or scheme gives them); the codes
    newly declared."""
    wanted = set(codes) - set(declared())
    if not wanted:
        return []
    present = set(db.scalars(select(ImportedMetric.code).where(
        ImportedMetric.code.in_(wanted))))
    fresh = sorted(wanted - present)
    given = names or {}
    db.add_all(ImportedMetric(code=code, name=given.get(code, (code, ""))[0][:100],
                              unit=given.get(code, (code, ""))[1][:16], source=source[:200],
                              declared_at=utcnow()) for code in fresh)
    db.flush()
    return fresh


@audit.action({"metrics.recorded": "录入指标数据"})
def record_metric_values(
    db: Session, *, actor: Actor, values: Sequence[MetricInput], source: str,
    declare: bool = True,
) -> int:
    """Upsert metric values; returns how many were new or changed (the same value is a no-op).

    A feeder (a ``source`` that declares metrics) writes only what it declared; any other
    source (a file, the API, manual entry) declares the codes nobody declared yet as its
    own data items (unless ``declare`` is false: a province sheet's values are the points of
    its schemes' given indicators). inf or NaN would score as infinitely good or bad:
    refused, whichever feeder sends it."""
    if not values:
        return 0
    if not all(math.isfinite(v.value) for v in values):
        raise DomainError("数据项的值须为有限的数字（不能是 inf 或 NaN）")
    periods = {v.period for v in values}
    org_ids = {v.org_id for v in values}
    metrics = {v.metric for v in values}
    known = declared()
    if source in {m.owner for m in known.values()}:
        undeclared = sorted(m for m in metrics if known.get(m, None) is None
                            or known[m].owner != source)
        if undeclared:
            raise DomainError(f"「{source}」写入了未声明的数据项：{'、'.join(undeclared)}")
    elif declare:
        declare_imported(db, codes=metrics, source=source)
    existing = {
        (row.period, row.org_id, row.metric): row
        for row in db.scalars(
            select(MetricValue).where(
                MetricValue.period.in_(periods),
                MetricValue.org_id.in_(org_ids),
                MetricValue.metric.in_(metrics),
            )
        )
    }
    changed = 0
    new_rows = []
    for v in values:
        row = existing.get((v.period, v.org_id, v.metric))
        if row is None:
            new_rows.append({"period": v.period, "org_id": v.org_id, "metric": v.metric,
                             "value": v.value, "source": source, "evidence": v.evidence,
                             "updated_at": utcnow()})
            changed += 1
        elif row.value != v.value:
            row.value, row.source, row.evidence = v.value, source, v.evidence
            changed += 1
    if new_rows:
        db.execute(insert(MetricValue), new_rows)
    db.flush()
    if changed:
        audit.record(
            db, actor=actor, action="metrics.recorded", object_type="metric_value",
            object_id=source[:128],
            changes={"changed": changed, "periods": sorted(periods), "metrics": len(metrics)},
        )
    return changed


def metric_values(
    db: Session, *, period: str, org_ids: Iterable[int], metrics: Iterable[str] | None = None
) -> dict[int, dict[str, float]]:
    """{org_id: {metric: value}} for one period (only ``metrics`` when given)."""
    stmt = select(MetricValue.org_id, MetricValue.metric, MetricValue.value).where(
        MetricValue.period == period, MetricValue.org_id.in_(list(org_ids))
    )
    wanted = set(metrics) if metrics is not None else None
    out: dict[int, dict[str, float]] = defaultdict(dict)
    db.flush()  # plain rows on the session's connection: scoring reads ~16k per period
    result = db.connection().execute(stmt)
    # The DBAPI's own tuples (three plain columns need no result processing; building a Row
    # for each doubled the time), and the metric filter here, not in SQL: a scheme reads most
    # of an org's metrics, and a long IN list costs SQLite more than the rows it leaves out.
    rows = result.cursor.fetchall()
    result.close()
    for org_id, metric, value in rows:
        if wanted is None or metric in wanted:
            out[org_id][metric] = value
    return dict(out)
