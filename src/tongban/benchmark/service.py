"""对标 operations: the frontier and distance to frontier (DTF) per item group, the league of
the cities, suggestions for a city, and the lists pages and the API read.

Imports and alignment live in ``importer`` and ``alignment``; callers use this module.
Frontier: per group and dimension (promised days, steps, visits, required materials; fewer
is better) over the cities offering the item — groups offered by one city only are left out.
DTF of a city's item = mean over the dimensions it reports of (worst − ours)/(worst − best) ×
100 (100 where all are equal); per department and per city = mean of its items.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from statistics import fmean
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select
from sqlalchemy.orm import Session, lazyload

from tongban.benchmark import alignment
from tongban.benchmark.alignment import (
    AlignResult,
    check_review,
    get_group,
    get_member,
    latest_snapshot_ids,
)
from tongban.benchmark.enums import (
    TRANSITIONS,
    Dimension,
    MemberStatus,
    Requirement,
    ReviewAction,
    SuggestionAction,
    SuggestionKind,
    SuggestionState,
)
from tongban.benchmark.importer import (
    diff_snapshots,
    import_catalog,
    import_implementation_list,
    material_name,
    resolve_city,
)
from tongban.benchmark.models import (
    AlignmentGroup,
    AlignmentMember,
    Frontier,
    FrontierOffer,
    SnapshotItem,
    SnapshotMaterial,
    Suggestion,
)
from tongban.core import audit, workdays
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import Conflict, DomainError, NotFound, PermissionDenied, permitted
from tongban.core.listing import Listing, ListParams, Page, contains_text, paginate
from tongban.core.numbers import time_limit
from tongban.core.security import Actor, Role
from tongban.core.workdays import local_today
from tongban.org import service as org_service
from tongban.org.enums import AliasKind, Area, OrgLevel
from tongban.org.models import Org, OrgAlias

__all__ = ["align", "check_review", "diff_snapshots", "get_group", "get_member",
           "import_catalog", "import_implementation_list", "material_name", "resolve_city",
           "review_member"]

audit.name_objects({"benchmark_suggestion": "对标建议",
                    "benchmark_department_map": "对标实施部门对应"})
# entries written before the register of departments (org.alias_mapped) took names over
audit.name_former_actions({"benchmark.department_mapped": "对应实施部门"})


@dataclass(frozen=True)
class OfferedItem:
    """What readers read of an offered item (a row of the city's latest snapshot)."""

    id: int
    name: str
    department: str
    procedure: str

    @classmethod
    def of(cls, item: SnapshotItem) -> OfferedItem:
        return cls(item.id, item.name, item.department, item.procedure)


@dataclass
class Offer:
    """A city's row of a group, with its values per dimension (None: not reported)."""

    org: Org
    member_id: int
    item: OfferedItem
    values: dict[Dimension, float | None]
    required: dict[str, str]  # normalised material name → as written
    has_materials: bool = True


@dataclass
class Bounds:
    best: float
    worst: float
    best_cities: list[str]


@dataclass
class GroupFrontier:
    """One group across the cities offering it."""

    group: AlignmentGroup
    offers: list[Offer]
    bounds: dict[Dimension, Bounds]
    dtf: dict[int, float]  # org id → DTF

    def offer_of(self, org_id: int) -> Offer | None:
        return next((o for o in self.offers if o.org.id == org_id), None)


@dataclass
class LeagueRow:
    org: Org
    dtf: float
    items: int
    rank: int = 0


@dataclass
class Benchmark:
    """The frontier of every group offered by two or more cities, and the league."""

    groups: list[GroupFrontier]
    league: list[LeagueRow] = field(default_factory=list)

    def rank_of(self, org_id: int) -> LeagueRow | None:
        return next((r for r in self.league if r.org.id == org_id), None)


def _values(item: SnapshotItem, materials: list[tuple[str, str]] | None) -> tuple[
        dict[Dimension, float | None], dict[str, str]]:
    """An item's value per dimension and its required materials (``materials``: its
    (name, requirement) rows, None when it lists none)."""
    required = {material_name(name): name for name, requirement in materials or []
                if requirement == Requirement.required.value}
    return ({Dimension.promised_days: item.promised_days,
             Dimension.steps: float(item.steps) if item.steps is not None else None,
             Dimension.visits: float(item.visits) if item.visits is not None else None,
             Dimension.materials: float(len(required)) if materials else None},
            required)


def dtf_of(values: dict[Dimension, float | None], bounds: dict[Dimension, Bounds]) -> float | None:
    """Mean over the reported dimensions of (worst − ours)/(worst − best) × 100."""
    scores = []
    for dimension, value in values.items():
        if value is None or dimension not in bounds:
            continue
        b = bounds[dimension]
        scores.append(100.0 if b.worst == b.best else (b.worst - value) / (b.worst - b.best) * 100)
    return round(fmean(scores), 2) if scores else None


def _offers(db: Session) -> dict[AlignmentGroup, list[Offer]]:
    """Each group offered by two or more cities, with their offers, from the cities' latest
    snapshots (their items and materials) and the alignment."""
    latest = latest_snapshot_ids(db)
    in_latest = SnapshotItem.snapshot_id.in_(latest.values())
    items = {(snapshot_org, item.key): item for snapshot_org, item in (
        ({s: o for o, s in latest.items()}[item.snapshot_id], item) for item in db.scalars(
            select(SnapshotItem).where(in_latest).options(lazyload(SnapshotItem.materials))))}
    # the materials as plain rows: a province's catalogs hold tens of thousands
    materials: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for item_id, name, requirement in db.execute(
            select(SnapshotMaterial.item_id, SnapshotMaterial.name, SnapshotMaterial.requirement)
            .join(SnapshotItem, SnapshotItem.id == SnapshotMaterial.item_id).where(in_latest)
            .order_by(SnapshotMaterial.id)):
        materials[item_id].append((name, requirement))
    by_group: dict[int, list[AlignmentMember]] = defaultdict(list)
    for member in db.scalars(select(AlignmentMember).order_by(AlignmentMember.id)):
        by_group[member.group_id].append(member)
    groups = {g.id: g for g in db.scalars(select(AlignmentGroup).where(
        AlignmentGroup.id.in_([g for g, ms in by_group.items() if len(ms) > 1])))}
    found: dict[AlignmentGroup, list[Offer]] = {}
    for group_id, group in sorted(groups.items()):
        offers = []
        for member in by_group[group_id]:
            item = items.get((member.org_id, member.item_key))
            if item is not None:
                listed = materials.get(item.id)
                values, required = _values(item, listed)
                offers.append(Offer(member.org, member.id, OfferedItem.of(item), values, required,
                                    bool(listed)))
        if len(offers) >= 2:
            found[group] = offers
    return found


def _benchmark(offered: dict[AlignmentGroup, list[Offer]]) -> Benchmark:
    """The bounds, DTF and league of the groups' offers (in group id order)."""
    frontiers = []
    for group, offers in sorted(offered.items(), key=lambda pair: pair[0].id):
        bounds = {}
        for dimension in Dimension:
            reported = [(o.values[dimension], o.org) for o in offers
                        if o.values[dimension] is not None]
            if reported:
                numbers = [v for v, _ in reported if v is not None]
                best = min(numbers)
                bounds[dimension] = Bounds(best, max(numbers), sorted(
                    (org.name for v, org in reported if v == best)))
        dtf = {o.org.id: d for o in offers if (d := dtf_of(o.values, bounds)) is not None}
        frontiers.append(GroupFrontier(group, offers, bounds, dtf))
    per_city: dict[int, list[float]] = defaultdict(list)
    orgs: dict[int, Org] = {}
    for frontier in frontiers:
        for offer in frontier.offers:
            orgs[offer.org.id] = offer.org
            if offer.org.id in frontier.dtf:
                per_city[offer.org.id].append(frontier.dtf[offer.org.id])
    league = sorted((LeagueRow(orgs[o], round(fmean(ds), 2), len(ds)) for o, ds in per_city.items()),
                    key=lambda r: (-r.dtf, r.org.code))
    for i, row in enumerate(league):
        row.rank = league[i - 1].rank if i and league[i - 1].dtf == row.dtf else i + 1
    return Benchmark(frontiers, league)


def frontier_key(db: Session) -> str:
    """What the frontier is computed from: each city's latest snapshot and the state of the
    alignment (its members' count, largest id, last change and groups)."""
    latest = sorted(latest_snapshot_ids(db).items())
    state = db.execute(select(func.count(), func.max(AlignmentMember.id),
                              func.max(AlignmentMember.updated_at),
                              func.sum(AlignmentMember.group_id))).one()
    return hashlib.sha256(repr((latest, tuple(map(str, state)))).encode()).hexdigest()


def store_frontier(db: Session) -> Frontier:
    """Compute the frontier of the current snapshots and alignment and keep it (the frontiers
    of earlier states go); once stored, readers load it (``compute``)."""
    key = frontier_key(db)
    found = db.scalar(select(Frontier).where(Frontier.key == key))
    if found is not None:
        return found
    db.execute(delete(FrontierOffer))
    db.execute(delete(Frontier))
    frontier = Frontier(key=key, computed_at=utcnow())
    db.add(frontier)
    db.flush()
    rows = [{"frontier_id": frontier.id, "group_id": group.id, "member_id": o.member_id,
             "org_id": o.org.id, "item_id": o.item.id, "name": o.item.name,
             "department": o.item.department, "procedure": o.item.procedure,
             "has_materials": o.has_materials, "required": o.required,
             **{d.value: o.values[d] for d in Dimension}}
            for group, offers in _offers(db).items() for o in offers]
    for start in range(0, len(rows), 5000):
        db.execute(insert(FrontierOffer), rows[start:start + 5000])
    return frontier


def _stored(db: Session, key: str) -> Benchmark | None:
    """The stored frontier of ``key`` as the computed one (its offers as stored, the groups and
    cities read by id), or None (none stored, or it names a group or city that is gone)."""
    frontier_id = db.scalar(select(Frontier.id).where(Frontier.key == key))
    if frontier_id is None:
        return None
    # plain rows, not ORM objects: a province's frontier holds tens of thousands of offers
    columns = [FrontierOffer.group_id, FrontierOffer.org_id, FrontierOffer.member_id,
               FrontierOffer.item_id, FrontierOffer.name, FrontierOffer.department,
               FrontierOffer.procedure, FrontierOffer.has_materials, FrontierOffer.required,
               *(getattr(FrontierOffer, d.value) for d in Dimension)]
    rows = db.execute(select(*columns).where(FrontierOffer.frontier_id == frontier_id)
                      .order_by(FrontierOffer.id)).all()
    groups = {g.id: g for g in _by_ids(db, AlignmentGroup, {r.group_id for r in rows},
                                       lazyload(AlignmentGroup.members))}
    orgs = {o.id: o for o in _by_ids(db, Org, {r.org_id for r in rows})}
    offered: dict[AlignmentGroup, list[Offer]] = defaultdict(list)
    for r in rows:
        group, org = groups.get(r.group_id), orgs.get(r.org_id)
        if group is None or org is None:
            return None
        offered[group].append(Offer(org, r.member_id,
                                    OfferedItem(r.item_id, r.name, r.department, r.procedure),
                                    dict(zip(Dimension, r[9:], strict=True)),
                                    dict(r.required), r.has_materials))
    return _benchmark(offered)


def _by_ids(db: Session, model: Any, ids: set[int], *options: Any) -> list[Any]:
    """The rows of ``model`` with these ids, a thousand at a time."""
    ordered = sorted(ids)
    return [row for start in range(0, len(ordered), 1000) for row in db.scalars(
        select(model).where(model.id.in_(ordered[start:start + 1000])).options(*options))]


def compute(db: Session) -> Benchmark:
    """The frontier, DTF and league over the cities' latest snapshots and the groups: the
    stored one of the current state (``store_frontier``), else computed afresh."""
    stored = _stored(db, frontier_key(db))
    return stored if stored is not None else _benchmark(_offers(db))


def align(db: Session, *, actor: Actor) -> AlignResult:
    """Align the cities' latest snapshots (``alignment.align``) and store the frontier."""
    result = alignment.align(db, actor=actor)
    store_frontier(db)
    return result


def review_member(db: Session, *, actor: Actor, member: AlignmentMember, action: ReviewAction,
                  target: AlignmentGroup | None = None) -> AlignmentMember:
    """An analyst's decision on a member (``alignment.review_member``); the frontier of the
    new state is stored."""
    done = alignment.review_member(db, actor=actor, member=member, action=action, target=target)
    store_frontier(db)
    return done


def require_benchmark(actor: Actor) -> None:
    """The league, the items across cities and the review queue are the city-wide roles'."""
    org_service.require_area(actor, Area.benchmark)


def league(db: Session, *, actor: Actor) -> Benchmark:
    require_benchmark(actor)
    return compute(db)


def frontier_of(db: Session, *, actor: Actor, city: Org) -> list[dict[str, Any]]:
    """Each group ``city`` offers with others: its DTF and each dimension's ours/best/worst."""
    require_benchmark(actor)
    found = []
    for frontier in compute(db).groups:
        offer = frontier.offer_of(city.id)
        if offer is None:
            continue
        found.append({
            "group": frontier.group.id, "name": offer.item.name,
            "dtf": frontier.dtf.get(city.id),
            "dimensions": {d.value: {"ours": offer.values[d], "best": b.best, "worst": b.worst,
                                     "best_cities": b.best_cities}
                           for d, b in frontier.bounds.items()}})
    return found


def department_dtf(benchmark: Benchmark, *, city: Org) -> dict[str, float]:
    """Mean DTF of ``city``'s items per 实施部门."""
    per: dict[str, list[float]] = defaultdict(list)
    for frontier in benchmark.groups:
        offer = frontier.offer_of(city.id)
        if offer is not None and city.id in frontier.dtf:
            per[offer.item.department or "（未注明）"].append(frontier.dtf[city.id])
    return {d: round(fmean(v), 2) for d, v in sorted(per.items())}


def group_view(db: Session, *, actor: Actor, group_id: int) -> GroupFrontier | AlignmentGroup:
    """A group across the cities: its frontier, or the bare group when fewer than two cities
    offer it."""
    require_benchmark(actor)
    group = get_group(db, group_id=group_id)
    found = next((f for f in compute(db).groups if f.group.id == group.id), None)
    return found or group


def home_city(db: Session) -> Org:
    """The city suggestions are for: TONGBAN_BENCHMARK_HOME_CITY, else the deployment's."""
    settings = get_settings()
    return resolve_city(db, ref=settings.benchmark_home_city or settings.city_code)


def _cities(offers: list[Offer]) -> str:
    return "、".join(o.org.name for o in offers)


def _number(value: float | None) -> str:
    return "—" if value is None else (str(int(value)) if float(value).is_integer() else str(value))


def draft_suggestions(benchmark: Benchmark, *, city: Org) -> list[dict[str, Any]]:
    """What ``city`` should change, per group: 流程, 时限, 材料 (per material) and 免提交."""
    exempt = [material_name(m) for m in get_settings().benchmark_exempt_list]
    found: list[dict[str, Any]] = []
    for frontier in benchmark.groups:
        ours = frontier.offer_of(city.id)
        if ours is None:
            continue
        others = [o for o in frontier.offers if o.org.id != city.id]
        base = {"group": frontier.group, "item_name": ours.item.name,
                "department": ours.item.department}
        for kind, dimension, unit in ((SuggestionKind.procedure, Dimension.steps, "个环节"),
                                      (SuggestionKind.time_limit, Dimension.promised_days,
                                       "个工作日")):
            value = ours.values[dimension]
            reported = [o for o in others if o.values[dimension] is not None]
            if value is None or not reported:
                continue
            fewest = min(o.values[dimension] or 0 for o in reported)
            if value > fewest:
                best = [o for o in reported if o.values[dimension] == fewest]
                ours_, best_ = ((time_limit(value), time_limit(fewest))
                                if kind is SuggestionKind.time_limit
                                else (f"{_number(value)}{unit}", f"{_number(fewest)}{unit}"))
                detail = (f"本市{ours_}，{_cities(best)}{best_}"
                          + (f"（{' → '.join(best[0].item.procedure.split('→'))}）"
                             if kind is SuggestionKind.procedure and best[0].item.procedure
                             else ""))
                found.append({**base, "kind": kind, "material": "", "detail": detail,
                              "cities": _cities(best)})
        with_materials = [o for o in others if o.has_materials]
        for norm, written in sorted(ours.required.items()):
            lighter = [o for o in with_materials if norm not in o.required]
            if lighter:
                found.append({**base, "kind": SuggestionKind.materials, "material": norm,
                              "detail": f"「{written}」：{_cities(lighter)}不要求提交",
                              "cities": _cities(lighter)})
            if any(e and e in norm for e in exempt):
                found.append({**base, "kind": SuggestionKind.exempt, "material": norm,
                              "detail": f"「{written}」可通过电子证照/数据共享免提交",
                              "cities": ""})
    return found


def province_cities(db: Session) -> list[Org]:
    """The province's cities (市州), whose catalogs 对标 compares, by code."""
    return list(db.scalars(select(Org).where(Org.level == OrgLevel.city.value)
                           .order_by(Org.code)))


def allowed_import(actor: Actor) -> bool:
    """Whether ``actor`` may import catalogs and 实施清单 (the check behind both imports)."""
    return bool(permitted(["import"], lambda _: org_service.require_manager(
        actor, "导入对标事项目录")))


def department_orgs(db: Session, *, city: Org) -> list[Org]:
    """The city's department orgs, by name."""
    return org_service.department_orgs(db, city=city)


def department_org_ids(db: Session, *, city: Org) -> dict[str, int]:
    """实施部门 names → the ids of ``city``'s department orgs they map to (the register of
    departments: names, short names and every mapped alias, whichever feeder mapped it)."""
    return org_service.name_orgs(db, city=city)


@dataclass
class SuggestResult:
    counts: dict[str, int]
    by_department: dict[str, dict[str, int]]
    added: int = 0
    updated: int = 0
    withdrawn: int = 0
    implemented: int = 0


@audit.action({"benchmark.suggested": "生成对标建议"})
def suggest(db: Session, *, actor: Actor, city: Org,
            benchmark: Benchmark | None = None) -> SuggestResult:
    """Write ``city``'s suggestions, keyed by (group, kind, material): a rerun updates them
    and withdraws those that no longer apply, never duplicates."""
    org_service.require_manager(actor, "生成对标建议")
    benchmark = benchmark or compute(db)
    drafts = draft_suggestions(benchmark, city=city)
    known = {(s.group_id, s.kind, s.material): s for s in db.scalars(
        select(Suggestion).where(Suggestion.org_id == city.id))}
    depts = department_org_ids(db, city=city)
    result = SuggestResult(counts={k.value: 0 for k in SuggestionKind}, by_department={})
    now, seen = utcnow(), set()
    snapshot_id = latest_snapshot_ids(db).get(city.id)
    issued_on = local_today()
    try:
        due_on: date | None = workdays.add_workdays(
            issued_on, get_settings().benchmark_answer_workdays, db=db)
    except workdays.UnknownCalendarYear:
        due_on = None  # no calendar for the year: no deadline, no reminders
    for draft in drafts:
        key = (draft["group"].id, draft["kind"].value, draft["material"][:300])
        seen.add(key)
        kind = draft["kind"].value
        result.counts[kind] += 1
        department = draft["department"] or "（未注明）"
        result.by_department.setdefault(department, {k.value: 0 for k in SuggestionKind})[kind] += 1
        values = {"item_name": draft["item_name"][:300], "department": draft["department"][:100],
                  "dept_org_id": depts.get(draft["department"]), "detail": draft["detail"][:2000],
                  "cities": draft["cities"][:500], "snapshot_id": snapshot_id}
        existing = known.get(key)
        if existing is None:
            db.add(Suggestion(org_id=city.id, group_id=key[0], kind=key[1], material=key[2],
                              created_at=now, updated_at=now, issued_on=issued_on,
                              due_on=due_on, state=SuggestionState.pending.value, **values))
            result.added += 1
        elif existing.state == SuggestionState.withdrawn.value or any(
                getattr(existing, k) != v for k, v in values.items()):
            if existing.state == SuggestionState.withdrawn.value:  # applies again: a new term
                existing.state, existing.issued_on, existing.due_on = (
                    SuggestionState.pending.value, issued_on, due_on)
            for k, v in values.items():
                setattr(existing, k, v)
            existing.updated_at = now
            result.updated += 1
    org_service.note_unmapped(db, actor=actor, kind=AliasKind.dept_name, source="对标", city=city,
                              values={d["department"] for d in drafts
                                      if d["department"] and d["department"] not in depts})
    offered = {f.group.id for f in benchmark.groups if f.offer_of(city.id) is not None}
    for key, existing in known.items():
        if key in seen or not SuggestionState(existing.state).is_open:
            continue
        if snapshot_id is not None and existing.snapshot_id not in (None, snapshot_id) \
                and existing.group_id in offered:
            _close_met(db, actor=actor, suggestion=existing, snapshot_id=snapshot_id)
            result.implemented += 1
        elif existing.state == SuggestionState.pending.value:
            existing.state, existing.updated_at = SuggestionState.withdrawn.value, now
            result.withdrawn += 1
    db.flush()
    if result.added or result.updated or result.withdrawn or result.implemented:
        audit.record(db, actor=actor, action="benchmark.suggested",
                     object_type="benchmark_suggestion", object_id=city.code,
                     changes={"city": city.name, "added": result.added, "updated": result.updated,
                              "withdrawn": result.withdrawn, "implemented": result.implemented,
                              **result.counts})
    return result


#: Suggestions as a list: by department, then item.
SUGGESTIONS = Listing(sorts={"item": ("事项名称", [Suggestion.item_name]),
                             "department": ("实施部门", [Suggestion.department]),
                             "kind": ("类型", [Suggestion.kind])},
                      key=Suggestion.id, search="事项名称、材料或实施部门中的文字")


def list_suggestions(db: Session, *, actor: Actor, params: ListParams,
                     kind: SuggestionKind | None = None, department: str = "",
                     state: SuggestionState | None = None) -> Page[Suggestion]:
    """A page of suggestions (without ``state``: all but those no longer applying): the
    city-wide roles see all, a liaison its department's (none when it is not mapped)."""
    conditions: list[ColumnElement[bool]] = [_scope(db, actor)]
    if kind is not None:
        conditions.append(Suggestion.kind == kind.value)
    if department:
        conditions.append(Suggestion.department == department)
    conditions.append(Suggestion.state == state.value if state is not None
                      else Suggestion.state != SuggestionState.withdrawn.value)
    if params.q:
        conditions.append(contains_text(params.q, Suggestion.item_name, Suggestion.material,
                                        Suggestion.department))
    return paginate(db, select(Suggestion).where(*conditions), params=params,
                    order=SUGGESTIONS.order(params, default=[Suggestion.department,
                                                             Suggestion.item_name,
                                                             Suggestion.id]))


def suggestion_departments(db: Session, *, actor: Actor) -> list[str]:
    require_benchmark(actor)
    return list(db.scalars(select(Suggestion.department).distinct().order_by(
        Suggestion.department)))


#: Groups as a list: by name.
GROUPS = Listing(sorts={"name": ("事项名称", [AlignmentGroup.name])}, key=AlignmentGroup.id,
                 search="事项名称或基本编码中的文字")


def list_groups(db: Session, *, actor: Actor, params: ListParams) -> Page[AlignmentGroup]:
    require_benchmark(actor)
    stmt = select(AlignmentGroup).where(AlignmentGroup.id.in_(
        select(AlignmentMember.group_id)))
    if params.q:
        stmt = stmt.where(contains_text(params.q, AlignmentGroup.name, AlignmentGroup.base_code))
    return paginate(db, stmt, params=params,
                    order=GROUPS.order(params, default=[AlignmentGroup.name, AlignmentGroup.id]))


#: The review queue: the least sure first.
QUEUE = Listing(sorts={"confidence": ("置信度", [AlignmentMember.confidence])},
                key=AlignmentMember.id, search="事项名称中的文字")


def review_queue(db: Session, *, actor: Actor, params: ListParams) -> Page[AlignmentMember]:
    require_benchmark(actor)
    stmt = select(AlignmentMember).where(AlignmentMember.status == MemberStatus.review.value)
    if params.q:
        stmt = stmt.where(contains_text(params.q, AlignmentMember.name))
    return paginate(db, stmt, params=params,
                    order=QUEUE.order(params, default=[AlignmentMember.confidence,
                                                       AlignmentMember.id]))


def allowed_review_actions(actor: Actor, member: AlignmentMember) -> frozenset[ReviewAction]:
    """The review buttons that work for ``actor`` on ``member``."""
    return permitted(ReviewAction, lambda a: check_review(actor, member, a))


def counts_of(db: Session, *, city: Org) -> dict[str, Any]:
    """Pending suggestions of ``city`` per kind and per department."""
    counts = Counter[str]()
    by_department: dict[str, dict[str, int]] = {}
    for kind, department in db.execute(select(Suggestion.kind, Suggestion.department).where(
            Suggestion.org_id == city.id, Suggestion.state == SuggestionState.pending.value)):
        counts[kind] += 1
        by_department.setdefault(department or "（未注明）",
                                 {k.value: 0 for k in SuggestionKind})[kind] += 1
    return {"counts": {k.value: counts[k.value] for k in SuggestionKind},
            "by_department": by_department}


def suggestion_rows(db: Session, *, city: Org) -> list[dict[str, Any]]:
    """``city``'s pending suggestions as rows (the CLI's JSON and the XLSX)."""
    return [{"id": s.id, "group": s.group_id, "item": s.item_name, "department": s.department,
             "kind": s.kind, "kind_label": SuggestionKind(s.kind).label, "material": s.material,
             "detail": s.detail, "cities": s.cities}
            for s in db.scalars(select(Suggestion).where(
                Suggestion.org_id == city.id, Suggestion.state == SuggestionState.pending.value)
                .order_by(Suggestion.department, Suggestion.item_name, Suggestion.id))]


@dataclass
class DepartmentSummary:
    """One 实施部门 of a city: its items, their mean DTF, its suggestions by kind and by state,
    and how many answers came by the due day (of those answered or due)."""

    department: str
    dept_org: Org | None
    items: int = 0
    shared: int = 0
    dtf: float | None = None
    by_kind: dict[str, int] = field(default_factory=dict)
    by_state: dict[str, int] = field(default_factory=dict)
    answered_ontime: int = 0
    due: int = 0

    @property
    def suggestions(self) -> int:
        return sum(self.by_kind.values())


def department_summary(db: Session, *, actor: Actor, city: Org,
                       benchmark: Benchmark | None = None) -> list[DepartmentSummary]:
    """Per 实施部门 of ``city``'s latest snapshot (and of its suggestions): items, DTF,
    suggestions by kind and state (withdrawn ones left out), answered on time."""
    require_benchmark(actor)
    benchmark = benchmark or compute(db)
    depts = {o.id: o for o in department_orgs(db, city=city)}
    mapped = department_org_ids(db, city=city)
    found: dict[str, DepartmentSummary] = {}

    def of(name: str) -> DepartmentSummary:
        key = name or "（未注明）"
        if key not in found:
            found[key] = DepartmentSummary(key, depts.get(mapped.get(name, -1)),
                                           by_kind={k.value: 0 for k in SuggestionKind},
                                           by_state={s.value: 0 for s in SuggestionState
                                                     if s is not SuggestionState.withdrawn})
        return found[key]

    snapshot_id = latest_snapshot_ids(db).get(city.id)
    if snapshot_id is not None:
        for department in db.scalars(select(SnapshotItem.department).where(
                SnapshotItem.snapshot_id == snapshot_id)):
            of(department).items += 1
    per_dtf: dict[str, list[float]] = defaultdict(list)
    for frontier in benchmark.groups:
        offer = frontier.offer_of(city.id)
        if offer is not None and city.id in frontier.dtf:
            of(offer.item.department).shared += 1
            per_dtf[offer.item.department or "（未注明）"].append(frontier.dtf[city.id])
    for name, values in per_dtf.items():
        found[name].dtf = round(fmean(values), 2)
    today = local_today()
    for s in db.scalars(select(Suggestion).where(
            Suggestion.org_id == city.id, Suggestion.state != SuggestionState.withdrawn.value)):
        row = of(s.department)
        row.by_kind[s.kind] += 1
        row.by_state[s.state] += 1
        if s.due_on is None:
            continue
        answered = workdays.local_date(s.answered_at) if s.answered_at else None
        if answered is not None or s.due_on < today:
            row.due += 1
            row.answered_ontime += answered is not None and answered <= s.due_on
    return sorted(found.values(), key=lambda r: (-r.suggestions, r.department))


# ---------------------------------------------------------------- the answer workflow


def _scope(db: Session, actor: Actor) -> ColumnElement[bool]:
    """The suggestions ``actor`` may see: all for the city-wide roles, else its department's."""
    if actor.is_citywide:
        return Suggestion.id.is_not(None)
    return Suggestion.dept_org_id.in_(org_service.visible_org_ids(db, actor=actor))


def get_suggestion(db: Session, *, actor: Actor, suggestion_id: int) -> Suggestion:
    """One suggestion ``actor`` may see (another department's is not found)."""
    found = db.scalar(select(Suggestion).where(Suggestion.id == suggestion_id,
                                               _scope(db, actor)))
    if found is None:
        raise NotFound(f"未找到对标建议 #{suggestion_id}")
    return found


def has_suggestions(db: Session, *, actor: Actor) -> bool:
    """Whether a liaison's department has suggestions (its menu shows 对标建议)."""
    if actor.role is not Role.liaison or actor.org_id is None:
        return False
    return db.scalar(select(Suggestion.id).where(  # one query: a menu entry on every page
        Suggestion.dept_org_id == actor.org_id,
        Suggestion.state != SuggestionState.withdrawn.value).limit(1)) is not None


def _check(db: Session, actor: Actor, suggestion: Suggestion, action: SuggestionAction) -> None:
    """Raise the refusal of ``action`` by ``actor`` on ``suggestion``, if any: the one check
    behind :func:`answer` and :func:`allowed_actions`."""
    allowed_from, _, _ = TRANSITIONS[action]
    current = SuggestionState(suggestion.state)
    if current not in allowed_from:
        raise Conflict(f"建议 #{suggestion.id} 当前为「{current.label}」，不能「{action.label}」")
    if actor.can_manage:
        return
    if actor.role is not Role.liaison or suggestion.dept_org_id is None or db.scalar(
            select(Org.id).where(Org.id == suggestion.dept_org_id,
                                 Org.id.in_(org_service.visible_org_ids(db, actor=actor)))) \
            is None:
        raise PermissionDenied("只有建议所属部门的联络员或考核管理员可以答复对标建议")


def allowed_actions(db: Session, *, actor: Actor,
                    suggestion: Suggestion) -> frozenset[SuggestionAction]:
    """The answers ``actor`` may give ``suggestion`` now; pages show exactly these."""
    return permitted(SuggestionAction, lambda a: _check(db, actor, suggestion, a))


@audit.action({f"benchmark.suggestion_{a.value}": f"对标建议{a.label}" for a in SuggestionAction})
def answer(db: Session, *, actor: Actor, suggestion: Suggestion, action: SuggestionAction,
           planned_on: date | None = None, reason: str = "") -> Suggestion:
    """A department's answer: 采纳 needs a planned date, 不采纳 a reason."""
    _check(db, actor, suggestion, action)
    reason = reason.strip()
    if action is SuggestionAction.adopt and planned_on is None:
        raise DomainError("采纳须填写计划落实日期")
    if action is SuggestionAction.reject and not reason:
        raise DomainError("不采纳须说明理由")
    now = utcnow()
    before = suggestion.state
    suggestion.state = TRANSITIONS[action][1].value
    if action is SuggestionAction.implement:
        suggestion.implemented_at = now
        suggestion.answer = reason[:2000] or suggestion.answer
    else:
        suggestion.answered_at, suggestion.answered_by = now, actor.username
        suggestion.planned_on = planned_on if action is SuggestionAction.adopt else None
        suggestion.answer = reason[:2000]
    suggestion.updated_at = now
    db.flush()
    audit.record(db, actor=actor, action=f"benchmark.suggestion_{action.value}",
                 object_type="benchmark_suggestion", object_id=suggestion.id,
                 changes={"state": [before, suggestion.state],
                          "planned_on": planned_on.isoformat() if planned_on else None,
                          "reason": reason or None})
    return suggestion


@audit.action({"benchmark.suggestion_closed": "对标建议自动落实"})
def _close_met(db: Session, *, actor: Actor, suggestion: Suggestion, snapshot_id: int) -> None:
    """An open suggestion whose item now meets the frontier in a new snapshot: 已落实."""
    before = suggestion.state
    now = utcnow()
    suggestion.state, suggestion.implemented_at = SuggestionState.implemented.value, now
    suggestion.evidence_snapshot_id, suggestion.snapshot_id = snapshot_id, snapshot_id
    suggestion.updated_at = now
    audit.record(db, actor=actor, action="benchmark.suggestion_closed",
                 object_type="benchmark_suggestion", object_id=suggestion.id,
                 changes={"state": [before, suggestion.state], "snapshot": snapshot_id})


# ---------------------------------------------------------------- department mapping


def unmapped_departments(db: Session, *, actor: Actor, city: Org) -> list[tuple[str, int]]:
    """实施部门 names of ``city``'s suggestions that map to no org, each once, with counts."""
    require_benchmark(actor)
    counts = Counter[str](db.scalars(select(Suggestion.department).where(
        Suggestion.org_id == city.id, Suggestion.dept_org_id.is_(None),
        Suggestion.state != SuggestionState.withdrawn.value)))
    return sorted(counts.items())


def department_mappings(db: Session, *, actor: Actor, city: Org) -> list[OrgAlias]:
    """The department names of ``city``'s sources mapped in the register of departments."""
    require_benchmark(actor)
    return list(org_service.list_aliases(
        db, actor=actor, params=ListParams(page_size=get_settings().list_page_size_max),
        mapped=True, kind=AliasKind.dept_name, city=city).items)


def map_department(db: Session, *, actor: Actor, city: Org, name: str,
                   department: Org) -> OrgAlias:
    """Remember that ``city``'s 实施部门 ``name`` is ``department`` (an alias in the register
    of departments, known to every feeder); its suggestions move there."""
    if department.parent_id != city.id or department.level != OrgLevel.department.value:
        raise DomainError(f"「{department.name}」不是{city.name}的部门")
    return org_service.map_alias(db, actor=actor, kind=AliasKind.dept_name, value=name,
                                 org=department, city=city, source="对标")


def _move_suggestions(db: Session, alias: OrgAlias) -> int:
    """A department name mapped in the register: the open suggestions of its city written under
    that name go to the org (a county or department)."""
    if alias.kind != AliasKind.dept_name.value or alias.city_id is None:
        return 0
    moved = 0
    for suggestion in db.scalars(select(Suggestion).where(Suggestion.org_id == alias.city_id,
                                                          Suggestion.department == alias.value)):
        if suggestion.dept_org_id != alias.org_id:
            suggestion.dept_org_id = alias.org_id
            moved += 1
    return moved


org_service.on_alias_mapped(_move_suggestions)
