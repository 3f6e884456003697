"""The monthly review counts the metrics read stay equal to counting the reviews themselves."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from alembic import command
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tests.reviews.test_cases import make_case, walk
from tests.reviews.test_default_rating import load_cases, policy, rate  # noqa: F401 (fixture)
from tests.reviews.test_intake import HEADER, row
from tongban.core import db as core_db
from tongban.core.security import SYSTEM_ACTOR
from tongban.reviews import service
from tongban.reviews.enums import CaseAction
from tongban.reviews.models import HandledCount, NegativeCase, Review, ReviewCount


def kept(db: Session) -> dict[tuple[str, int, int, bool], int]:
    return {(p, o, lv, d): n for p, o, lv, d, n in db.execute(
        select(ReviewCount.period, ReviewCount.org_id, ReviewCount.level,
               ReviewCount.is_default, ReviewCount.reviews)) if n}


def counted(db: Session) -> dict[tuple[str, int, int, bool], int]:
    return {(p, o, lv, d): n for p, o, lv, d, n in db.execute(
        select(Review.period, Review.org_id, Review.level, Review.is_default, func.count())
        .where(Review.voided.is_(False))
        .group_by(Review.period, Review.org_id, Review.level, Review.is_default))}


def test_counts_follow_imports_ratings_voided_appeals_and_default_ratings(
        db: Session, policy: None) -> None:  # noqa: F811
    assert kept(db) == counted(db)  # the demo data, counted by the migration or the loader
    service.import_reviews(db, actor=SYSTEM_ACTOR, filename="r.csv", source=io.BytesIO((
        HEADER + row("a1") + row("a2", case="A2", level="2", org="巴中市")
        + row("a3", case="A3", level="4", rated="2026-03-01 07:00:00")).encode()))
    service.import_reviews(db, actor=SYSTEM_ACTOR, filename="r.csv", source=io.BytesIO(
        (HEADER + row("a1")).encode()))  # a re-import adds nothing
    rate(db, "H9", 3)
    case_ = make_case(db, "v1")
    walk(db, case_, CaseAction.callback, CaseAction.appeal, CaseAction.uphold)
    load_cases(db)
    assert service.apply_default_ratings(db, as_of=date(2026, 3, 20)) == 3
    assert kept(db) == counted(db)
    upheld = (case_.review.period, case_.review.org_id, 1, False)
    assert counted(db).get(upheld, 0) == kept(db).get(upheld, 0)


def test_upgrading_an_existing_database_counts_the_reviews_it_holds(tmp_path: Path) -> None:
    engine = core_db.make_engine(f"sqlite:///{tmp_path / 'before.db'}")
    with engine.begin() as connection:
        command.upgrade(core_db.alembic_config(connection), "0007")
        connection.execute(text(
            "INSERT INTO org (id, code, name, short_name, level, path, pinyin, initials, "
            "is_active, created_at) VALUES (1, '511902', '巴州区', '巴州', 'county', '/1/', "
            "'bazhouqu', 'bzq', 1, '2026-01-01 00:00:00')"))
        for n, (level, voided) in enumerate([(5, 0), (5, 0), (1, 0), (1, 1)]):
            connection.execute(text(
                "INSERT INTO review (source, source_id, channel, org_id, item_code, case_no, "
                "level, tags, comment, named, phone_cipher, phone_masked, rated_at, period, "
                "is_default, voided, created_at) VALUES ('old', :sid, 'website', 1, '', '', "
                ":level, '', '', 0, '', '', '2026-03-01 00:00:00', '2026-03', 0, :voided, "
                "'2026-03-01 00:00:00')"), {"sid": str(n), "level": level, "voided": voided})
        connection.execute(text(  # review 3 (level 1): called back on its due day
            "INSERT INTO negative_case (review_id, org_id, state, category, received_on, "
            "callback_due, rectify_due, called_back_at, reopen_count, follow_up, reply_text, "
            "appeal_reason, created_at) VALUES (3, 1, 'called_back', '其他', '2026-03-01', "
            "'2026-03-02', '2026-03-20', '2026-03-02 15:00:00', 0, '', '', '', "
            "'2026-03-01 00:00:00')"))
    core_db.upgrade_schema(engine)
    with Session(engine) as db:
        assert kept(db) == {("2026-03", 1, 5, False): 2, ("2026-03", 1, 1, False): 1}
        case_ = db.scalars(select(NegativeCase)).one()  # 23:00 local time, still 03-02
        assert (case_.called_back_on_time, case_.replied_on_time, case_.named) == (
            True, False, False)
    engine.dispose()


def test_a_month_whose_only_rating_was_voided_leaves_the_dashboard(db: Session) -> None:
    case_ = make_case(db, "only", rated="2025-06-10 10:00:00")
    code = case_.org.code
    assert (code, "2025-06") in {(r.code, r.period) for r in service.dashboard(
        db, actor=SYSTEM_ACTOR)["rates"]}
    walk(db, case_, CaseAction.callback, CaseAction.appeal, CaseAction.uphold)
    data = service.dashboard(db, actor=SYSTEM_ACTOR)
    assert (code, "2025-06") not in {(r.code, r.period) for r in data["rates"]}
    assert "2025-06" not in {p for p, *_ in data["per_month"]}


def test_upgrading_keeps_the_handled_counts_imported_as_metric_values(tmp_path: Path) -> None:
    engine = core_db.make_engine(f"sqlite:///{tmp_path / 'before.db'}")
    with engine.begin() as connection:
        command.upgrade(core_db.alembic_config(connection), "0010")
        connection.execute(text(
            "INSERT INTO org (id, code, name, short_name, level, path, pinyin, initials, "
            "is_active, created_at) VALUES (1, '511902', '巴州区', '巴州', 'county', '/1/', "
            "'bazhouqu', 'bzq', 1, '2026-01-01 00:00:00')"))
        connection.execute(text(
            "INSERT INTO metric_value (period, org_id, metric, value, source, evidence, "
            "updated_at) VALUES ('2026-03', 1, 'cases_handled', 812, 'import:办件量.csv', '', "
            "'2026-04-01 00:00:00'), ('2026-03', 1, 'reviews', 700, 'reviews', '', "
            "'2026-04-01 00:00:00')"))
    core_db.upgrade_schema(engine)
    with Session(engine) as db:
        assert db.execute(select(HandledCount.period, HandledCount.org_id, HandledCount.cases,
                                 HandledCount.source)).all() == [
            ("2026-03", 1, 812, "import:办件量.csv")]
    engine.dispose()
