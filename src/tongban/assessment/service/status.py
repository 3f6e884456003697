"""Where each cohort's months stand: data in, scored, published (the analyst's home)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, lazyload

from tongban.assessment.enums import SheetStatus
from tongban.assessment.models import MetricValue, ScoreSheet
from tongban.core.periods import month_of
from tongban.core.security import Actor
from tongban.core.workdays import local_today
from tongban.org import service as org_service
from tongban.org.models import Cohort


@dataclass(frozen=True)
class MonthStatus:
    """Where one cohort's month stands: data in, scored, published."""

    period: str
    orgs_with_data: int  # members with at least one metric value of the month
    members: int
    sheet: SheetStatus | None  # the newest revision's status; None: not scored
    revision: int = 0
    cohort_code: str = ""
    in_progress: bool = False  # this very month: its data is still coming in
    closed: bool = True  # the month is over (only then is it scored)

    @property
    def label(self) -> str:
        if self.sheet is SheetStatus.published:
            return "已发布"
        if self.sheet is SheetStatus.draft:
            return "已计算（草稿）" if self.revision == 1 else f"更正草稿第{self.revision}版"
        if self.in_progress:
            return "本月进行中"
        if self.orgs_with_data:
            return "已导入，未计算"
        return "缺数据"

    @property
    def computable(self) -> bool:
        """Whether the home offers to score it: a month that is over, with data, unpublished."""
        return bool(self.orgs_with_data) and self.closed \
            and self.sheet is not SheetStatus.published


def data_status(db: Session, *, actor: Actor, periods: Sequence[str]) -> dict[str, list[MonthStatus]]:
    """Per cohort name, each month's status (the analyst's home page): how many members
    have data, and whether the month is scored and published."""
    org_service.require_manager(actor, "查看数据状态")
    out: dict[str, list[MonthStatus]] = {}
    for cohort in db.scalars(select(Cohort).order_by(Cohort.is_reference.desc(), Cohort.code)):
        members = org_service.member_ids(db, cohort=cohort)
        with_data = dict(db.execute(
            select(MetricValue.period, func.count(func.distinct(MetricValue.org_id)))
            .where(MetricValue.period.in_(periods), MetricValue.org_id.in_(members))
            .group_by(MetricValue.period)).all()) if members else {}
        sheets: dict[str, ScoreSheet] = {}
        for sheet in db.scalars(select(ScoreSheet).where(
                ScoreSheet.cohort_id == cohort.id, ScoreSheet.period.in_(periods))
                .options(lazyload(ScoreSheet.cohort), lazyload(ScoreSheet.scheme))
                .order_by(ScoreSheet.revision)):
            sheets[sheet.period] = sheet  # the newest revision last
        this_month = month_of(local_today())
        out[cohort.name] = [MonthStatus(
            period, int(with_data.get(period, 0)), len(members),
            SheetStatus(sheets[period].status) if period in sheets else None,
            sheets[period].revision if period in sheets else 0, cohort.code,
            in_progress=period == this_month, closed=period < this_month)
            for period in periods]
    return out
