"""Aligning the cities' items: which rows of the cities' latest snapshots are the same item.

Base code first (基本编码, given or derived from the 实施编码); rows sharing a base code stay
apart when their names differ. Rows without codes align by normalised name (rapidfuzz), with
jieba's words, the item type and the department as evidence (a word substituted, 食品经营 /
药品经营, lowers the confidence; the same words reordered reach at least the review queue).
Names that differ in an action word (核发 / 变更 / 注销 …) are different business items and
never align. A confident match is ``aligned``, a middling one goes to the review queue; an
analyst's decisions (``confirmed``) are kept by every rerun, since members are keyed by the
city's row, not by a snapshot.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import jieba
from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.benchmark.enums import MemberStatus, ReviewAction
from tongban.benchmark.models import (
    AlignmentGroup,
    AlignmentMember,
    CatalogSnapshot,
    SnapshotItem,
)
from tongban.core import audit
from tongban.core.db import utcnow
from tongban.core.errors import Conflict, NotFound
from tongban.core.security import Actor
from tongban.org import service as org_service

audit.name_objects({"benchmark_group": "对标事项组"})

#: At or above: aligned without review; at or above REVIEW_AT: the review queue.
ALIGNED_AT = 0.9
REVIEW_AT = 0.75
#: Words that make a different business item of the same licence (a 变更 is not a 核发).
ACTION_WORDS = ("变更", "注销", "延续", "延期", "换证", "换发", "补发", "补办", "补证", "撤销",
                "迁移", "转让", "增项", "遗失", "年检", "年审", "备案")
_LEVEL_MARKS = re.compile(r"\((?:(?:省级|市级|县级|区级|市本级|乡级)[/、,和及与]?)+\)")
_MARKS = re.compile(r"市本级|市级|县级|区级|省级")
_BRACKETS = re.compile(r"[()\[\]【】〔〕<>《》{}\"'“”‘’]")
_ENDINGS = ("核发", "审批", "许可")
_FILLERS = re.compile(r"[的及和]")


def normalise_name(name: str) -> str:
    """An item name for comparison: half width, no whitespace, no 市级/县级 markers, no
    brackets, no 的/及/和, no 核发/审批/许可 ending."""
    text = unicodedata.normalize("NFKC", name)
    text = re.sub(r"\s+", "", text)
    text = _LEVEL_MARKS.sub("", text)
    text = _MARKS.sub("", text)
    text = _BRACKETS.sub("", text)
    text = _FILLERS.sub("", text)
    stripped = True
    while stripped:
        stripped = False
        for ending in _ENDINGS:
            if text.endswith(ending) and len(text) > len(ending) + 1:
                text, stripped = text[: -len(ending)], True
    return text


jieba.setLogLevel(logging.WARNING)
#: A word of one name where the other has another (食品 / 药品): different items, likely.
SUBSTITUTED_WORD = 0.1
#: Words the same but in another order: at least the review queue.
REORDERED_AT = 0.85


@lru_cache(maxsize=65536)
def words_of(norm: str) -> frozenset[str]:
    """The jieba words of a normalised name."""
    return frozenset(jieba.lcut(norm, HMM=False))


def word_evidence(a: str, b: str) -> tuple[float, float]:
    """What jieba's words say of two normalised names: (the share of words they have in common,
    an adjustment: − when each has a word the other lacks, as 食品经营 / 药品经营)."""
    wa, wb = words_of(a), words_of(b)
    if not wa or not wb:
        return 0.0, 0.0
    shared = len(wa & wb) / len(wa | wb)
    return shared, (-SUBSTITUTED_WORD if (wa - wb) and (wb - wa) else 0.0)


def actions_of(name: str) -> frozenset[str]:
    """The action words in a name (empty for the item itself: 核发, 设立 …)."""
    return frozenset(w for w in ACTION_WORDS if w in name)


def _department(name: str) -> str:
    return re.sub(r"^(?:市|区|县|州)", "", unicodedata.normalize("NFKC", name).strip())


@dataclass
class _Row:
    org_id: int
    key: str
    name: str
    code: str
    item_type: str
    department: str
    norm: str = ""
    actions: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.norm = normalise_name(self.name)
        self.actions = actions_of(self.name)


@dataclass
class _Cluster:
    key: str
    name: str
    base_code: str
    norm: str
    actions: frozenset[str]
    cities: set[int] = field(default_factory=set)
    types: set[str] = field(default_factory=set)
    departments: set[str] = field(default_factory=set)
    #: (row, confidence, status) of the members the matcher places
    placed: list[tuple[_Row, float, MemberStatus]] = field(default_factory=list)

    def note(self, row: _Row) -> None:
        self.cities.add(row.org_id)
        if row.item_type:
            self.types.add(row.item_type)
        if row.department:
            self.departments.add(_department(row.department))


@dataclass
class AlignResult:
    groups: int = 0
    aligned: int = 0
    review: int = 0
    confirmed: int = 0
    changed: int = 0


def latest_snapshot_ids(db: Session) -> dict[int, int]:
    """Each city's latest snapshot: org id → snapshot id."""
    found: dict[int, int] = {}
    for org_id, snapshot_id in db.execute(
            select(CatalogSnapshot.org_id, CatalogSnapshot.id)
            .order_by(CatalogSnapshot.as_of, CatalogSnapshot.id)):
        found[org_id] = snapshot_id
    return found


def _rows(db: Session) -> list[_Row]:
    latest = latest_snapshot_ids(db)
    if not latest:
        return []
    snapshot_org = {s: o for o, s in latest.items()}
    return [_Row(snapshot_org[s], key, name, code, item_type, department)
            for s, key, name, code, item_type, department in db.execute(
                select(SnapshotItem.snapshot_id, SnapshotItem.key, SnapshotItem.name,
                       SnapshotItem.align_code, SnapshotItem.item_type,
                       SnapshotItem.department)
                .where(SnapshotItem.snapshot_id.in_(latest.values()))
                .order_by(SnapshotItem.snapshot_id, SnapshotItem.id))]


def _evidence(row: _Row, cluster: _Cluster) -> float:
    bonus = 0.0
    if row.item_type and cluster.types:
        bonus += 0.03 if row.item_type in cluster.types else -0.1
    if row.department and _department(row.department) in cluster.departments:
        bonus += 0.03
    return bonus


def _new_cluster(clusters: dict[str, _Cluster], key: str, row: _Row) -> _Cluster:
    unique, n = key, 1
    while unique in clusters:
        n += 1
        unique = f"{key}#{n}"
    cluster = _Cluster(unique, row.name, row.code, row.norm, row.actions)
    clusters[unique] = cluster
    return cluster


def match_rows(rows: Iterable[_Row], clusters: dict[str, _Cluster],
               fixed: set[tuple[int, str]]) -> None:
    """Place each row not in ``fixed`` into a cluster (new or existing): coded rows by base
    code and name, then code-less rows by name."""
    pending = [r for r in rows if (r.org_id, r.key) not in fixed]
    by_code: dict[str, list[_Cluster]] = {}
    exact: dict[tuple[str, frozenset[str]], list[_Cluster]] = {}
    for cluster in clusters.values():
        if cluster.base_code:
            by_code.setdefault(cluster.base_code, []).append(cluster)
        exact.setdefault((cluster.norm, cluster.actions), []).append(cluster)

    def place(cluster: _Cluster, row: _Row, confidence: float, status: MemberStatus) -> None:
        cluster.placed.append((row, round(confidence, 3), status))
        cluster.note(row)

    for row in [r for r in pending if r.code]:
        best: tuple[float, _Cluster] | None = None
        for cluster in by_code.get(row.code, []):
            if row.org_id in cluster.cities or cluster.actions != row.actions:
                continue
            score = 1.0 if cluster.norm == row.norm else fuzz.ratio(cluster.norm, row.norm) / 100
            if score >= ALIGNED_AT and (best is None or score > best[0]):
                best = (score, cluster)
        if best is None:
            cluster = _new_cluster(clusters, f"code:{row.code}:{row.norm}", row)
            by_code.setdefault(row.code, []).append(cluster)
            exact.setdefault((row.norm, row.actions), []).append(cluster)
            place(cluster, row, 1.0, MemberStatus.aligned)
        else:
            place(best[1], row, max(best[0], 0.95), MemberStatus.aligned)

    for row in [r for r in pending if not r.code]:
        same = [c for c in exact.get((row.norm, row.actions), []) if row.org_id not in c.cities]
        if same:
            place(same[0], row, 0.97, MemberStatus.aligned)
            continue
        choices = {k: c.norm for k, c in clusters.items()
                   if c.actions == row.actions and row.org_id not in c.cities}
        candidates = {key: score for _, score, key in process.extract(
            row.norm, choices, scorer=fuzz.ratio, score_cutoff=REVIEW_AT * 100 - 5, limit=5)}
        # the same words in another order (设立登记个体工商户) escape the character ratio
        for _, _, key in process.extract(row.norm, choices, scorer=fuzz.token_sort_ratio,
                                         processor=lambda n: " ".join(sorted(words_of(n))),
                                         score_cutoff=99, limit=3):
            candidates.setdefault(key, fuzz.ratio(row.norm, choices[key]))
        best = None
        for key, score in candidates.items():
            cluster = clusters[key]
            shared, adjust = word_evidence(row.norm, cluster.norm)
            base = max(score / 100, REORDERED_AT if shared == 1.0 else 0.0)
            confidence = min(base + adjust + _evidence(row, cluster), 0.99)
            if best is None or confidence > best[0]:
                best = (confidence, cluster)
        if best is not None and best[0] >= REVIEW_AT:
            status = MemberStatus.aligned if best[0] >= ALIGNED_AT else MemberStatus.review
            place(best[1], row, best[0], status)
        else:
            cluster = _new_cluster(clusters, f"name:{row.norm}", row)
            exact.setdefault((row.norm, row.actions), []).append(cluster)
            place(cluster, row, 1.0, MemberStatus.aligned)


@audit.action({"benchmark.aligned": "对齐各市事项"})
def align(db: Session, *, actor: Actor) -> AlignResult:
    """Align the cities' latest snapshots; analysts' decisions stay as they are."""
    org_service.require_manager(actor, "对齐各市事项")
    rows = _rows(db)
    groups = {g.key: g for g in db.scalars(select(AlignmentGroup))}
    members = {(m.org_id, m.item_key): m for m in db.scalars(select(AlignmentMember))}
    by_row = {(r.org_id, r.key): r for r in rows}
    clusters: dict[str, _Cluster] = {}
    fixed: set[tuple[int, str]] = set()
    for member in members.values():
        if member.status != MemberStatus.confirmed.value:
            continue
        held = member.group
        cluster = clusters.get(held.key)
        if cluster is None:
            founder = _Row(member.org_id, member.item_key, held.name, held.base_code, "", "")
            cluster = clusters[held.key] = _Cluster(held.key, held.name, held.base_code,
                                                    founder.norm, founder.actions)
        row = by_row.get((member.org_id, member.item_key))
        cluster.note(row or _Row(member.org_id, member.item_key, member.name, member.code, "", ""))
        fixed.add((member.org_id, member.item_key))
    match_rows(rows, clusters, fixed)

    result = AlignResult()
    now = utcnow()
    for cluster in clusters.values():
        group = groups.get(cluster.key)
        if group is None and cluster.placed:
            group = groups[cluster.key] = AlignmentGroup(key=cluster.key, name=cluster.name[:300],
                                                         base_code=cluster.base_code)
            db.add(group)
            db.flush()
            result.changed += 1
        for row, confidence, status in cluster.placed:
            assert group is not None
            values = {"group_id": group.id, "name": row.name, "code": row.code,
                      "confidence": confidence, "status": status.value}
            existing = members.get((row.org_id, row.key))
            if existing is None:
                db.add(AlignmentMember(org_id=row.org_id, item_key=row.key, updated_at=now,
                                       **values))
                result.changed += 1
            elif any(getattr(existing, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(existing, k, v)
                existing.updated_at = now
                result.changed += 1
    for key, gone in members.items():
        if key not in by_row and gone.status != MemberStatus.confirmed.value:
            db.delete(gone)
            result.changed += 1
    db.flush()
    counts: dict[str, int] = {status: n for status, n in db.execute(
        select(AlignmentMember.status, func.count()).group_by(AlignmentMember.status))}
    result.aligned = counts.get(MemberStatus.aligned.value, 0)
    result.review = counts.get(MemberStatus.review.value, 0)
    result.confirmed = counts.get(MemberStatus.confirmed.value, 0)
    result.groups = db.scalar(select(func.count(func.distinct(AlignmentMember.group_id)))) or 0
    if result.changed:
        audit.record(db, actor=actor, action="benchmark.aligned", object_type="benchmark_group",
                     object_id="all", changes={"changed": result.changed, "groups": result.groups,
                                               "aligned": result.aligned,
                                               "review": result.review})
    return result


def get_member(db: Session, *, member_id: int) -> AlignmentMember:
    member = db.get(AlignmentMember, member_id)
    if member is None:
        raise NotFound(f"未找到对齐成员 #{member_id}")
    return member


def get_group(db: Session, *, group_id: int) -> AlignmentGroup:
    group = db.get(AlignmentGroup, group_id)
    if group is None:
        raise NotFound(f"未找到对标事项组 #{group_id}")
    return group


def check_review(actor: Actor, member: AlignmentMember, action: ReviewAction) -> None:
    """The one check behind the review buttons and their writes."""
    org_service.require_manager(actor, "复核对齐结果")
    if action is ReviewAction.confirm and member.status == MemberStatus.confirmed.value:
        raise Conflict("该成员已确认")


@audit.action({f"benchmark.member_{a.value}": f"对齐复核：{a.label}" for a in ReviewAction})
def review_member(db: Session, *, actor: Actor, member: AlignmentMember, action: ReviewAction,
                  target: AlignmentGroup | None = None) -> AlignmentMember:
    """An analyst's decision on a member: confirm it where it is, move it to ``target``, or
    split it into a group of its own; reruns of :func:`align` keep it."""
    check_review(actor, member, action)
    before = member.group_id
    if action is ReviewAction.move:
        if target is None:
            raise Conflict("请指定要移入的事项组")
        if any(m.org_id == member.org_id and m.id != member.id for m in target.members):
            raise Conflict(f"目标组已有{member.org.name}的事项；一市的事项在一组中至多一项")
        member.group_id = target.id
    elif action is ReviewAction.split_off:
        key = f"split:{member.org_id}:{member.item_key}"
        group = db.scalars(select(AlignmentGroup).where(AlignmentGroup.key == key)).first()
        if group is None:
            group = AlignmentGroup(key=key[:400], name=member.name, base_code="")
            db.add(group)
            db.flush()
        member.group_id = group.id
    member.status = MemberStatus.confirmed.value
    member.confidence = 1.0
    member.updated_at = utcnow()
    db.flush()
    db.expire(member, ["group"])
    audit.record(db, actor=actor, action=f"benchmark.member_{action.value}",
                 object_type="benchmark_group", object_id=member.group_id,
                 changes={"member": member.id, "city": member.org.name, "name": member.name,
                          "from_group": before, "to_group": member.group_id})
    return member
