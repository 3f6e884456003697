"""The 对标 frontier is stored per set of latest snapshots and state of the alignment: readers
load it instead of recomputing it, it reads back exactly as computed, and a new snapshot or an
analyst's decision makes a new one."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.benchmark.test_benchmark import ITEMS, city, hand_case, load
from tongban.benchmark import service
from tongban.benchmark.enums import Dimension, ReviewAction
from tongban.benchmark.models import AlignmentMember, Frontier, FrontierOffer
from tongban.core.security import SYSTEM_ACTOR


def shape(found: service.Benchmark) -> tuple[object, ...]:
    """What readers read of a frontier: per group its offers, values, materials, bounds and
    DTF; the league."""
    return (
        [(f.group.id, [(o.org.id, o.member_id, o.item, o.values, o.required, o.has_materials)
                       for o in f.offers],
          {d: (b.best, b.worst, b.best_cities) for d, b in f.bounds.items()}, f.dtf)
         for f in found.groups],
        [(r.org.id, r.dtf, r.items, r.rank) for r in found.league])


def test_aligning_stores_the_frontier_and_readers_load_it_as_computed(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    hand_case(db)
    stored = db.scalars(select(Frontier)).one()
    assert stored.key == service.frontier_key(db)
    assert db.scalar(select(func.count()).select_from(FrontierOffer)) > 0
    fresh = service._benchmark(service._offers(db))
    monkeypatch.setattr(service, "_offers", lambda db: pytest.fail("a reader recomputed"))
    assert shape(service.compute(db)) == shape(fresh)
    assert service.league(db, actor=SYSTEM_ACTOR).league  # a page's reader: no recomputation


def test_a_new_snapshot_is_read_afresh_until_the_next_alignment_stores_it(db: Session) -> None:
    hand_case(db)
    old_key = service.frontier_key(db)
    load(db, "巴中", ITEMS + "H1-511900000000-1,对标测试事项,市交通运输局,1,3,4,2\n")
    assert service.frontier_key(db) != old_key
    mine = city(db, "巴中").id
    # the stored frontier is of the old snapshot: a reader computes the new one
    offers = [o for f in service.compute(db).groups for o in f.offers if o.org.id == mine]
    assert any(o.values[Dimension.promised_days] == 3.0 for o in offers)
    service.align(db, actor=SYSTEM_ACTOR)
    assert [f.key for f in db.scalars(select(Frontier))] == [service.frontier_key(db)]


def test_an_analysts_decision_stores_the_frontier_of_the_new_alignment(db: Session) -> None:
    hand_case(db)
    before = service.frontier_key(db)
    member = db.scalars(select(AlignmentMember).where(
        AlignmentMember.item_key == "H1-511300000000-1")).one()
    service.review_member(db, actor=SYSTEM_ACTOR, member=member, action=ReviewAction.split_off)
    assert service.frontier_key(db) != before
    assert [f.key for f in db.scalars(select(Frontier))] == [service.frontier_key(db)]
    # alone in its group now: offered by one city, in no frontier
    assert not any(o.member_id == member.id for f in service.compute(db).groups for o in f.offers)
