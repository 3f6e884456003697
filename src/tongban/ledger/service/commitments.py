"""季调度 commitments: what the 表态发言 units promised at a quarterly meeting (an entry of the
``quarterly-commitments`` ledger: the measuring metric and the quarter it was made in, the
item's target), checked against the next quarter's score sheet — the data memo the meeting
reads, as Baltimore's CitiStat does. The figures come from the sheet's frozen values, never
live tables; a sheet without the metric says 无数据 and why."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.assessment import service as assessment
from tongban.assessment.metrics import Figure, declared, figure, unknown_reason
from tongban.core.periods import quarter_label, quarter_months
from tongban.core.security import Actor
from tongban.ledger.models import LedgerEntry
from tongban.ledger.service.entries import EntryView, may_see
from tongban.ledger.service.types import current_type

COMMITMENTS = "quarterly-commitments"


def next_quarter(quarter: str) -> str:
    months = quarter_months(quarter)
    year, q = int(months[0][:4]), int(quarter[-1])
    return f"{year + 1}Q1" if q == 4 else f"{year}Q{q + 1}"


@dataclass(frozen=True)
class Check:
    """One commitment against the sheet: its figure there, and whether the target was met
    (None when the sheet cannot say)."""

    view: EntryView
    metric: str
    figure: Figure | None
    sheet: str
    missing: str

    @property
    def target(self) -> float | None:
        return self.view.item.target

    @property
    def met(self) -> bool | None:
        if self.figure is None or self.figure.value is None or self.target is None:
            return None
        return self.figure.value >= self.target

    def as_dict(self) -> dict[str, object]:
        return {"org": self.view.org.name, "item": self.view.item.code,
                "commitment": self.view.item.name, "status": self.view.status_label,
                "metric": self.metric, "target": self.target,
                "value": self.figure.value if self.figure else None,
                "shown": self.figure.text() if self.figure and not self.missing
                else f"无数据（{self.missing}）", "met": self.met, "sheet": self.sheet}


def memo(db: Session, *, actor: Actor, quarter: str, cohort_code: str) -> list[Check]:
    """The commitments made in ``quarter`` by the orgs of a cohort that ``actor`` sees, each
    with its metric from the newest sheet of the next quarter."""
    _, spec = current_type(db, actor=actor, code=COMMITMENTS)
    later = next_quarter(quarter)
    sheets = assessment.read_sheets(db, actor=actor, cohort_code=cohort_code,
                                    periods=quarter_months(later))
    sheet = sheets[-1] if sheets else None
    rows = {row.org_id: row for row in sheet.rows} if sheet is not None else {}
    metrics = declared()
    out = []
    for entry in db.scalars(select(LedgerEntry).where(LedgerEntry.type_code == spec.code)
                            .order_by(LedgerEntry.org_id, LedgerEntry.item_id)):
        made = (entry.fields or {}).get("quarter", "")
        if made != quarter or not may_see(db, actor, entry.org):
            continue
        view = EntryView(spec, entry.item, entry.org, entry)
        metric = (entry.fields or {}).get("indicator", "")
        row = rows.get(entry.org_id)
        found: Figure | None = None
        if sheet is None:
            missing = f"{quarter_label(later)}尚无{cohort_code}的成绩单"
        elif row is None:
            missing = f"{entry.org.name}不在该分组的成绩单中"
        elif metric not in metrics:
            missing = unknown_reason(metric, metrics)
        else:
            found = figure(row.values, metric, metrics)
            missing = found.missing
        out.append(Check(view, metric, found, sheet.source_label if sheet else "", missing))
    return out
