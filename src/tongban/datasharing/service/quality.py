"""Quality per delivery, dataset and department: validity, completeness and unique keys (from
the latest delivery's checks), freshness against the declared frequency (late by how many
periods, deadlines in working days), volume against the previous delivery, use on the exchange
platform (imported logs), and from them a 0–100 score per dataset (weights a setting), a value
mark for key data, and the department's 归集率, 共享率, 开放率 and quality — written each month as
the metric values this feeder declares (``datasharing.metrics``).
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.assessment import service as assessment
from tongban.assessment.service import MetricInput
from tongban.core import audit
from tongban.core.config import get_settings
from tongban.core.errors import ErrorGroups, PermissionDenied, RowError, ValidationFailed
from tongban.core.numbers import rate_of
from tongban.core.periods import first_day, month_of, next_period, previous_period
from tongban.core.security import SYSTEM_ACTOR, Actor
from tongban.core.tabular import ImportCounts, cell_number, cell_period, cell_text, open_table
from tongban.core.workdays import (
    UnknownCalendarYear,
    WorkCalendar,
    load_calendar,
    local_zone,
)
from tongban.datasharing.enums import (
    CascadeKind,
    CascadeOutcome,
    Frequency,
    OpenType,
    ShareType,
)
from tongban.datasharing.metrics import METRICS, OWNER
from tongban.datasharing.models import CascadeAttempt, Dataset, DatasetUse, Delivery
from tongban.datasharing.service.catalog import scoped
from tongban.org.models import Org

USE_COLUMNS = {"数据集编码": "dataset", "期间": "period", "月份": "period", "调用次数": "calls",
               "下载次数": "downloads"}
#: How many past periods freshness looks back over.
LOOK_BACK = 12


def period_start(frequency: Frequency, day: date) -> date:
    if frequency in (Frequency.realtime, Frequency.day):
        return day
    if frequency is Frequency.week:
        return day - timedelta(days=day.weekday())
    if frequency is Frequency.month:
        return day.replace(day=1)
    if frequency is Frequency.quarter:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, 1, 1)


def _next_start(frequency: Frequency, start: date) -> date:
    if frequency in (Frequency.realtime, Frequency.day):
        return start + timedelta(days=1)
    if frequency is Frequency.week:
        return start + timedelta(days=7)
    months = {Frequency.month: 1, Frequency.quarter: 3, Frequency.year: 12}[frequency]
    total = start.month - 1 + months
    return date(start.year + total // 12, total % 12 + 1, 1)


def _previous_start(frequency: Frequency, start: date) -> date:
    return period_start(frequency, start - timedelta(days=1))


@dataclass(frozen=True)
class Freshness:
    """Whether a dataset's latest due delivery came in by its deadline, and for how many
    periods in a row it has not (``unknown``: a deadline falls in a year whose working days
    nobody has entered yet)."""

    on_schedule: bool
    late_periods: int
    last_delivered: date | None
    next_due: date | None
    unknown: str = ""

    @property
    def label(self) -> str:
        if self.unknown:
            return self.unknown
        if self.on_schedule:
            return "按期"
        return f"逾期{self.late_periods}期" if self.late_periods else "未交付"


def freshness(frequency: Frequency, delivered: list[date], *, as_of: date,
              calendar: WorkCalendar) -> Freshness:
    """Freshness of a dataset delivered on ``delivered`` days, as of ``as_of``: a period's
    delivery is due by the working day ``TONGBAN_DATA_GRACE_WORKDAYS`` after its end, and
    counts when delivered from the period's start to that deadline; one delivery counts for
    one period only."""
    grace = int(get_settings().data_pairs("data_grace_workdays").get(frequency.value, 5))
    last = max(delivered, default=None)
    try:
        start = period_start(frequency, as_of)
        due_periods: list[tuple[date, date]] = []
        next_due = None
        for _ in range(LOOK_BACK + 1):
            end = _next_start(frequency, start) - timedelta(days=1)
            if end >= as_of:  # still running: not due; its deadline the next, where known
                try:
                    next_due = calendar.add_workdays(end, grace)
                except UnknownCalendarYear:
                    next_due = None
                start = _previous_start(frequency, start)
                continue
            due = calendar.add_workdays(end, grace)
            if due < as_of:
                due_periods.append((start, due))
            elif next_due is None or due < next_due:
                next_due = due
            start = _previous_start(frequency, start)
    except UnknownCalendarYear as exc:
        return Freshness(False, 0, last, None, unknown=f"无法判断（{exc.message}）")
    # each delivery counts for one period: the periods by deadline, each taking the earliest
    # delivery left in its window (a delivery on 1 September is August's, not September's too)
    days = sorted(d for d in delivered if d <= as_of)
    met: set[date] = set()
    for begin, due in sorted(due_periods, key=lambda p: p[1]):
        index = bisect.bisect_left(days, begin)
        if index < len(days) and days[index] <= due:
            met.add(begin)
            del days[index]
    late = 0
    for begin, _ in due_periods:  # the newest first
        if begin in met:
            break
        late += 1
    return Freshness(late == 0 and bool(due_periods), late, last, next_due)


@audit.action({"data.use_imported": "导入数据调用日志"})
def import_use(db: Session, *, actor: Actor, source: Path | IO[bytes],
               filename: str = "") -> ImportCounts:
    """The exchange platform's call and download counts per dataset and month (CSV or XLSX:
    数据集编码, 期间, 调用次数, 下载次数), all or nothing; the same file again changes nothing."""
    if not actor.can_manage:
        raise PermissionDenied("只有考核管理员或系统管理员可以导入调用日志")
    name = filename or getattr(source, "name", "调用日志")
    table = open_table(source, filename=Path(name).name, aliases=USE_COLUMNS)
    missing = [c for c in ("dataset", "period", "calls") if c not in table.header]
    if missing:
        raise ValidationFailed(errors=[RowError(1, c, "缺少必需的列", table.filename)
                                       for c in missing], summary=f"{table.filename} 格式不正确")
    codes = {code: id_ for code, id_ in db.execute(select(Dataset.code, Dataset.id))}
    errors = ErrorGroups(file=table.filename)
    parsed: dict[tuple[int, str], tuple[int, int]] = {}
    for row, cells in table.rows:
        code, period = cell_text(cells.get("dataset")), cell_period(cells.get("period"))
        calls, downloads = cell_number(cells.get("calls")), cell_number(cells.get("downloads") or 0)
        if code not in codes:
            errors.append(RowError(row, "数据集编码", f"目录中没有数据集「{code[:30]}」"))
        if len(period) != 7 or period[4] != "-":
            errors.append(RowError(row, "期间", f"「{period[:12]}」不是 YYYY-MM 格式的月份"))
        for column, value in (("调用次数", calls), ("下载次数", downloads)):
            if value is None or value < 0 or not float(value).is_integer():
                errors.append(RowError(row, column, "应为非负整数"))
        if code in codes and (codes[code], period) in parsed:
            errors.append(RowError(row, "数据集编码", f"{code} 的 {period} 在文件中重复"))
        if not errors.count and calls is not None and downloads is not None:
            parsed[(codes[code], period)] = (int(calls), int(downloads))
    if errors:
        raise ValidationFailed(errors=errors, summary=f"有 {errors.count} 处错误，未导入任何记录")
    counts = ImportCounts()
    known = {(u.dataset_id, u.period): u for u in db.scalars(select(DatasetUse))}
    for (dataset_id, period), (calls_, downloads_) in parsed.items():
        use = known.get((dataset_id, period))
        if use is None:
            db.add(DatasetUse(dataset_id=dataset_id, period=period, calls=calls_,
                              downloads=downloads_))
            counts.added += 1
        elif (use.calls, use.downloads) != (calls_, downloads_):
            use.calls, use.downloads = calls_, downloads_
            counts.changed += 1
        else:
            counts.unchanged += 1
    db.flush()
    audit.record(db, actor=actor, action="data.use_imported", object_type="data_dataset",
                 object_id=table.filename[:128], changes=counts.as_dict())
    return counts


@dataclass
class DatasetQuality:
    """One dataset's quality as of a day: its parts, score and marks."""

    dataset: Dataset
    latest: Delivery | None
    freshness: Freshness
    use: int
    cascaded: bool
    parts: dict[str, float] = field(default_factory=dict)
    score: float = 0.0
    drop: float | None = None

    @property
    def key(self) -> bool:
        return self.dataset.key_data

    def as_dict(self) -> dict[str, object]:
        d = self.dataset
        return {"dataset": d.code, "name": d.name, "department": d.department.name,
                "key_data": d.key_data, "score": self.score, "parts": self.parts,
                "freshness": self.freshness.label, "late_periods": self.freshness.late_periods,
                "last_delivered": self.freshness.last_delivered.isoformat()
                if self.freshness.last_delivered else None,
                "rows": self.latest.rows if self.latest else None, "use": self.use,
                "cascaded": self.cascaded, "volume_drop": self.drop}


def _use_part(use: int) -> float:
    """Use as a share: none 0, ten a month 1/3, a hundred 2/3, a thousand or more 1."""
    return min(1.0, math.log10(1 + use) / 3)


def _cascaded(db: Session, *, ids: list[int], as_of: date) -> set[int]:
    """The datasets whose last push to the provincial platform by the end of ``as_of`` was
    taken (a push is only taken for a registered dataset): cascaded on that day."""
    end = datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=local_zone())
    ranked = select(CascadeAttempt.dataset_id, CascadeAttempt.outcome, func.row_number().over(
        partition_by=CascadeAttempt.dataset_id,
        order_by=(CascadeAttempt.at.desc(), CascadeAttempt.id.desc())).label("n")).where(
        CascadeAttempt.dataset_id.in_(ids), CascadeAttempt.kind == CascadeKind.push.value,
        CascadeAttempt.at < end).subquery()
    return set(db.scalars(select(ranked.c.dataset_id).where(
        ranked.c.n == 1, ranked.c.outcome == CascadeOutcome.ok.value)))


def dataset_quality(db: Session, *, datasets: list[Dataset], as_of: date) -> list[DatasetQuality]:
    """The quality of ``datasets`` as of ``as_of`` (their deliveries up to that day)."""
    if not datasets:
        return []
    ids = [d.id for d in datasets]
    dates: dict[int, list[date]] = defaultdict(list)
    for dataset_id, day in db.execute(select(Delivery.dataset_id, Delivery.delivered_on).where(
            Delivery.dataset_id.in_(ids), Delivery.delivered_on <= as_of)):
        dates[dataset_id].append(day)
    latest: dict[int, list[Delivery]] = defaultdict(list)
    ranked = select(Delivery, func.row_number().over(
        partition_by=Delivery.dataset_id,
        order_by=(Delivery.delivered_on.desc(), Delivery.id.desc())).label("n")).where(
        Delivery.dataset_id.in_(ids), Delivery.delivered_on <= as_of).subquery()
    for delivery in db.scalars(select(Delivery).join(ranked, ranked.c.id == Delivery.id)
                               .where(ranked.c.n <= 2)):
        latest[delivery.dataset_id].append(delivery)
    last_month = previous_period(month_of(as_of))
    use = {dataset_id: calls + downloads for dataset_id, calls, downloads in db.execute(
        select(DatasetUse.dataset_id, DatasetUse.calls, DatasetUse.downloads).where(
            DatasetUse.dataset_id.in_(ids), DatasetUse.period == last_month))}
    cascaded = _cascaded(db, ids=ids, as_of=as_of)
    weights = get_settings().data_pairs("data_quality_weights")
    total_weight = sum(weights.values()) or 1.0
    calendar = load_calendar(db)
    found = []
    for dataset in datasets:
        pair = sorted(latest.get(dataset.id, []), key=lambda d: (d.delivered_on, d.id),
                      reverse=True)
        newest = pair[0] if pair else None
        fresh = freshness(Frequency(dataset.frequency), dates.get(dataset.id, []), as_of=as_of,
                          calendar=calendar)
        item = DatasetQuality(dataset, newest, fresh, use.get(dataset.id, 0),
                              dataset.id in cascaded)
        if newest is not None and newest.cells:
            required = sum(1 for f in dataset.fields if f.required) * newest.rows or 1
            item.parts = {
                "validity": 1 - newest.invalid_cells / newest.cells,
                "completeness": 1 - newest.missing_required / required,
                "uniqueness": 1 - newest.duplicate_keys / max(1, newest.rows),
                "freshness": 1.0 if fresh.on_schedule else max(0.0, 1 - 0.25 * fresh.late_periods),
                "use": _use_part(item.use)}
            item.score = round(100 * sum(weights.get(k, 0) * max(0.0, v)
                                         for k, v in item.parts.items()) / total_weight, 1)
            if len(pair) == 2 and pair[1].rows:
                drop = 1 - newest.rows / pair[1].rows
                item.drop = round(drop, 4) if drop >= get_settings().data_volume_drop else None
        found.append(item)
    return found


@dataclass
class DepartmentQuality:
    """A department's datasets and rates as of a day (each rate with its parts)."""

    department: Org
    datasets: list[DatasetQuality]

    def counts(self) -> dict[str, float]:
        d = self.datasets
        share = [q for q in d if ShareType(q.dataset.share_type) is not ShareType.none]
        open_ = [q for q in d if OpenType(q.dataset.open_type) is not OpenType.closed]
        keys = [q for q in d if q.key]
        # Key data counts twice in the department's quality: a dataset in daily use for core
        # business weighs more than one nobody asked for.
        weights = [2.0 if q.key else 1.0 for q in d]
        quality = sum(w * q.score for w, q in zip(weights, d, strict=True)) / sum(weights) \
            if d else 0.0
        return {"should_collect": len(d), "collected": sum(q.freshness.on_schedule for q in d),
                "should_share": len(share), "shared": sum(q.cascaded for q in share),
                "should_open": len(open_), "opened": sum(q.freshness.on_schedule for q in open_),
                "cascaded": sum(q.cascaded for q in d), "key_datasets": len(keys),
                "key_datasets_fresh": sum(q.freshness.on_schedule for q in keys),
                "data_quality": round(quality, 1)}


def department_quality(db: Session, *, actor: Actor, as_of: date,
                       department: Org | None = None) -> list[DepartmentQuality]:
    """Every department's quality (those ``actor`` sees), the worst first."""
    stmt = scoped(db, actor, select(Dataset).where(Dataset.is_active))
    if department is not None:
        stmt = stmt.where(Dataset.department_id == department.id)
    datasets = list(db.scalars(stmt.order_by(Dataset.code)))
    by_department: dict[int, list[DatasetQuality]] = defaultdict(list)
    for item in dataset_quality(db, datasets=datasets, as_of=as_of):
        by_department[item.dataset.department_id].append(item)
    found = [DepartmentQuality(items[0].dataset.department, items)
             for items in by_department.values()]
    return sorted(found, key=lambda q: (q.counts()["data_quality"], q.department.code))


def month_end(period: str, *, today: date) -> date:
    """The day a month's figures are taken on: its last day, or today while it runs."""
    end = first_day(next_period(period)) - timedelta(days=1)
    return min(end, today)


def record_metrics(db: Session, *, period: str, today: date) -> int:
    """Write every department's figures of ``period`` as the metric values declared; how many
    were new or changed."""
    as_of = month_end(period, today=today)
    values = [MetricInput(period, q.department.id, METRICS[code].code, float(value))
              for q in department_quality(db, actor=SYSTEM_ACTOR, as_of=as_of)
              for code, value in q.counts().items()]
    return assessment.record_metric_values(db, actor=SYSTEM_ACTOR, values=values, source=OWNER)


#: The figures a department's month is summed from (the metric codes of ``counts()``).
COUNTS = ("should_collect", "collected", "should_share", "shared", "should_open", "opened",
          "cascaded", "key_datasets", "key_datasets_fresh", "data_quality")


def monthly_counts(db: Session, *, actor: Actor, months: list[str], today: date,
                   department: Org | None = None,
                   now: list[DepartmentQuality] | None = None) -> dict[str, list[dict[str, float]]]:
    """Each department's figures (``counts()``) at the end of each month: a month that is
    over reads the values ``record_metrics`` wrote (the read model), a month without them
    (the running one, or one no job recorded) is computed; ``now``: today's quality, when
    the caller has it already."""
    if now is None:
        now = department_quality(db, actor=actor, as_of=today, department=department)
    ids = [q.department.id for q in now]
    codes = {METRICS[c].code: c for c in COUNTS}
    out: dict[str, list[dict[str, float]]] = {}
    for month in months:
        stored = assessment.metric_values(db, period=month, org_ids=ids, metrics=codes) \
            if month < month_of(today) and ids else {}
        rows = [{codes[m]: v for m, v in stored.get(i, {}).items()} for i in ids]
        if ids and all(len(r) == len(COUNTS) for r in rows):
            out[month] = rows
            continue
        found = now if month == month_of(today) else department_quality(
            db, actor=actor, as_of=month_end(month, today=today), department=department)
        out[month] = [q.counts() for q in found]
    return out


def rates(counts: dict[str, float]) -> dict[str, str]:
    """The department's rates as text, each with its parts."""
    return {"collect": rate_of(counts["collected"], counts["should_collect"]),
            "share": rate_of(counts["shared"], counts["should_share"]),
            "open": rate_of(counts["opened"], counts["should_open"]),
            "cascade": rate_of(counts["cascaded"], counts["should_collect"]),
            "key": rate_of(counts["key_datasets_fresh"], counts["key_datasets"])}
