"""The sheet read model: what every report, page and analysis reads of a scored period
(``SheetView`` with its ``SheetRow``s), and the projected losses of open rectification."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from tongban.assessment.enums import Grade, SheetStatus
from tongban.assessment.models import ScoreSheet
from tongban.assessment.ranking import competition_rank
from tongban.assessment.rules import ItemResult, stored_item, stored_points
from tongban.assessment.scheme import (
    IndicatorDef,
    SchemeDef,
)
from tongban.assessment.service.schemes import scheme_definition
from tongban.assessment.service.sheets import (
    _current_of,
    _newest_scored,
    current_sheet,
    get_cohort,
    latest_sheet_of,
    line_values,
    published_sheet,
    require_sheet,
    visible_lines,
)
from tongban.core.periods import period_label, previous_period
from tongban.core.security import Actor
from tongban.org import service as org_service
from tongban.org.models import Org


@dataclass(frozen=True)
class SheetAdjustment:
    """One 加扣分 a sheet applied to an org, with its reason and where it came from."""

    id: int
    points: float
    reason: str
    indicator_code: str | None
    source: str
    source_ref: str
    source_url: str

    @property
    def cited(self) -> str:
        """What a report names as the source: the reference, else the kind of source."""
        return self.source_ref or self.source


@dataclass(frozen=True)
class SheetRow:
    """One org's line of a sheet as reports and analysis read it: nothing live."""

    org_id: int
    org_code: str
    org_name: str
    org_path: str  # the org's place in the tree, to scope a report to a part of it
    rank: int
    previous_rank: int | None
    previous_grade: Grade | None
    indicator_total: float
    adjustment_total: float
    total: float
    grade: Grade
    leading: bool
    values: dict[str, float]
    adjustments: tuple[SheetAdjustment, ...]
    notes: tuple[str, ...]
    stored: dict[str, Any] = field(repr=False)

    def item(self, indicator: IndicatorDef) -> ItemResult | None:
        """The indicator's points and inputs on this line (None when not scored)."""
        raw = stored_item(self.stored, indicator)
        return None if raw is None else ItemResult.from_dict(raw, indicator.max_points)

    def points(self, code: str) -> float | None:
        """The indicator's points, None when it was not scored or was excluded."""
        return stored_points(self.stored, code)

    @property
    def rank_change(self) -> int | None:
        """Places gained since last month (negative: lost), None without last month's rank."""
        return None if self.previous_rank is None else self.previous_rank - self.rank


@dataclass(frozen=True)
class SheetView:
    """A score sheet as outputs read it: the figures of one cohort and month, frozen.

    ``rows`` holds every org of the sheet, ranked (ranks, leaders and medians need them all);
    ``shown`` the rows the reading actor may see. Every report, bulletin, tile and export of a
    scored period takes its numbers from here, never from live tables.
    """

    id: int
    cohort_code: str
    cohort_name: str
    is_reference: bool
    period: str
    revision: int
    status: SheetStatus
    scheme_code: str
    scheme_name: str
    scheme_version: str
    definition: SchemeDef
    content_hash: str
    rows: tuple[SheetRow, ...]
    shown: tuple[SheetRow, ...]

    @property
    def draft(self) -> bool:
        return self.status != SheetStatus.published

    @property
    def source_label(self) -> str:
        """The sheet named as a report cites it: 县区类2026年3月成绩单第1版（已发布）."""
        return (f"{self.cohort_name}{period_label(self.period)}成绩单第{self.revision}版"
                f"（{self.status.label}）")

    def row_of(self, org_id: int) -> SheetRow | None:
        return next((row for row in self.rows if row.org_id == org_id), None)

    def rank_with(self, org_id: int, total: float) -> int:
        """The org's rank were its total ``total`` and every other org's as on the sheet."""
        totals = {row.org_id: row.total for row in self.rows}
        totals[org_id] = total
        return competition_rank(totals, decimals=self.definition.decimals)[org_id]


def view_of(db: Session, *, sheet: ScoreSheet, actor: Actor | None) -> SheetView:
    """A sheet already loaded, as the read model (``actor`` None: every row shown)."""
    earlier = published_sheet(db, cohort=sheet.cohort, period=previous_period(sheet.period))
    before = {line.org_id: line for line in earlier.lines} if earlier else {}
    rows = tuple(sorted((SheetRow(
        org_id=line.org_id, org_code=line.org.code, org_name=line.org.name,
        org_path=line.org.path, rank=line.rank,
        previous_rank=before[line.org_id].rank if line.org_id in before else None,
        previous_grade=Grade(before[line.org_id].grade) if line.org_id in before else None,
        indicator_total=line.indicator_total,
        adjustment_total=line.adjustment_total, total=line.total, grade=Grade(line.grade),
        leading=line.leading, values=line_values(line),
        adjustments=tuple(SheetAdjustment(
            id=int(a["id"]), points=float(a["points"]), reason=str(a["reason"]),
            indicator_code=a.get("indicator_code"), source=str(a.get("source") or ""),
            source_ref=str(a.get("source_ref") or ""), source_url=str(a.get("source_url") or ""))
            for a in line.adjustments),
        notes=tuple(line.items.get("_notes", {}).get("notes", [])), stored=line.items,
    ) for line in sheet.lines), key=lambda r: (r.rank, r.org_code)))
    visible = ({line.org_id for line in visible_lines(db, actor=actor, sheet=sheet)}
               if actor is not None else {row.org_id for row in rows})
    scheme = sheet.scheme
    return SheetView(
        id=sheet.id, cohort_code=sheet.cohort.code, cohort_name=sheet.cohort.name,
        is_reference=sheet.cohort.is_reference, period=sheet.period, revision=sheet.revision,
        status=SheetStatus(sheet.status), scheme_code=scheme.code, scheme_name=scheme.name,
        scheme_version=scheme.version, definition=scheme_definition(scheme),
        content_hash=sheet.content_hash, rows=rows,
        shown=tuple(row for row in rows if row.org_id in visible))


def read_sheet(db: Session, *, actor: Actor, cohort_code: str, period: str) -> SheetView:
    """The current sheet of a cohort and month as ``actor`` may read it (a liaison: published
    sheets, its own orgs shown)."""
    sheet = require_sheet(db, cohort_code=cohort_code, period=period, actor=actor)
    return view_of(db, sheet=sheet, actor=actor)


def read_sheets(db: Session, *, actor: Actor, cohort_code: str,
                periods: Sequence[str]) -> list[SheetView]:
    """The current sheets ``actor`` may read of the given months, oldest first (months
    without one are left out)."""
    cohort = get_cohort(db, code=cohort_code)
    found = (current_sheet(db, cohort=cohort, period=p, actor=actor) for p in sorted(periods))
    return [view_of(db, sheet=sheet, actor=actor) for sheet in found if sheet is not None]


def latest_view_of(db: Session, *, actor: Actor, org: Org, scheme_code: str | None = None,
                   published: bool = False) -> SheetView | None:
    """:func:`latest_sheet_of` as a read model; ``published``: the newest published month."""
    if published:
        found = _newest_scored(db, org_ids=[org.id], actor=actor,
                               published=True).get((org.id, scheme_code or None))
        sheet = None if found is None else _current_of(db, found, actor)
    else:
        sheet = latest_sheet_of(db, org=org, scheme_code=scheme_code, actor=actor)
    return None if sheet is None else view_of(db, sheet=sheet, actor=actor)


@dataclass(frozen=True)
class LossProjection:
    """Where an org would stand on its latest sheet had it lost ``points``."""

    basis: str  # the sheet the projection starts from: 县区类2026年3月成绩单
    current_total: float
    current_rank: int
    projected_total: float
    projected_rank: int


def project_losses(db: Session, *, actor: Actor,
                   losses: Sequence[tuple[Org, float, str | None]]) -> list[LossProjection | None]:
    """Points at risk in, projected total and rank out, for each (org, points, scheme code):
    the loss applied to the org's latest published sheet (under the scheme code if given), every other
    org unchanged; None without a sheet the actor may read. The orgs' latest sheets are found
    in one query and each is read once, however many of the orgs it scores."""
    newest = _newest_scored(db, org_ids={org.id for org, _, _ in losses}, actor=actor,
                            published=True)
    views: dict[tuple[int, str], SheetView | None] = {}
    out: list[LossProjection | None] = []
    for org, points, scheme_code in losses:
        found = newest.get((org.id, scheme_code or None)) \
            if org_service.can_see(db, actor=actor, org=org) else None
        if found is not None and found not in views:
            sheet = _current_of(db, found, actor)
            views[found] = None if sheet is None else view_of(db, sheet=sheet, actor=actor)
        view = None if found is None else views[found]
        row = None if view is None else view.row_of(org.id)
        if view is None or row is None:
            out.append(None)
            continue
        after = round(row.total - points, 4)
        out.append(LossProjection(f"{view.cohort_name}{period_label(view.period)}成绩单",
                                  row.total, row.rank, after, view.rank_with(org.id, after)))
    return out
