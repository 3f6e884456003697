"""The 好差评 exchange dialect: records in the 办件评价 interface's field names, as CSV, XLSX or
JSON lines, become reviews (org from deptCode or areaCode, channel from pf, follow-ups, rater
keys); the deptCode map."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import actor_of, located
from tongban.cli import app as cli
from tongban.core import privacy
from tongban.core.audit import AuditEntry
from tongban.core.creditcode import check_character, is_credit_code
from tongban.core.errors import PermissionDenied, ValidationFailed
from tongban.core.listing import ListParams
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.org import service as org_service
from tongban.reviews import service
from tongban.reviews.models import NegativeCase, Review, ReviewCount
from tongban.reviews.service import exchange

FIELDS = exchange.FIELDS
#: A municipal department's code (the check character computed, as issued).
DEPT = "11511900MB1234567" + check_character("11511900MB1234567")
OTHER_DEPT = "11511900MB7654321" + check_character("11511900MB7654321")
CERT = "513701199001011234"


def record(project: str, **given: object) -> dict[str, object]:
    """One exchange record of 巴州区 (areaCode) rated 5 on the website, as the province sends it."""
    values: dict[str, object] = {
        "areaCode": "511902000000", "deptCode": "", "taskCode": "511A0138000000",
        "taskHandleItem": "11511900MB0000000X1001", "taskName": "食品经营许可",
        "projectNo": project, "proStatus": "办结", "pf": "1", "certkeyGOV": CERT,
        "userProp": "1", "satisfaction": "5", "evalDetail": "", "writingEvaluation": "",
        "assessTime": "2026-02-03 10:00:00", "assessNumber": "1", "promiseTime": "1",
        "acceptDate": "2026-02-01 09:00:00", "dataSource": "510"}
    values.update(given)
    return values


def as_csv(records: list[dict[str, object]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(FIELDS))
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode()


def as_xlsx(records: list[dict[str, object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(FIELDS))
    for r in records:
        sheet.append([r[f] for f in FIELDS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def as_jsonl(records: list[dict[str, object]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def run(db: Session, data: bytes, filename: str = "评价.csv",
        rejects: io.StringIO | None = None) -> service.IntakeResult:
    return service.import_reviews(db, actor=SYSTEM_ACTOR, source=io.BytesIO(data),
                                  filename=filename, rejects=rejects)


def stored(db: Session, project: str, number: int = 1) -> Review:
    return db.scalars(select(Review).where(Review.source == "exchange:510",
                                           Review.source_id == f"{project}:{number}")).one()


def counted(db: Session, org: str, period: str = "2026-02") -> dict[tuple[int, bool], int]:
    org_id = org_service.resolve_org(db, ref=org).id
    return {(c.level, c.is_default): c.reviews for c in db.scalars(select(ReviewCount).where(
        ReviewCount.org_id == org_id, ReviewCount.period == period))}


@pytest.fixture
def mapped(db: Session) -> Iterator[None]:
    service.map_dept_code(db, actor=SYSTEM_ACTOR, code=DEPT,
                          org=org_service.resolve_org(db, ref="市交通运输局"))
    yield


SAMPLE = [
    record("BZ2026020001", pf="1", satisfaction="5", writingEvaluation="办事很快"),
    record("BZ2026020002", pf="2", satisfaction="4", assessTime="1770084000000"),
    record("BZ2026020003", pf="3", satisfaction="1", evalDetail="101,103",
           writingEvaluation="来了三次才办好", areaCode="511902001000"),
    record("BZ2026020004", pf="7", satisfaction="5", areaCode="511900000000", deptCode=DEPT),
]


@pytest.mark.parametrize("kind", ["csv", "xlsx", "jsonl"])
def test_a_provincial_sample_imports_in_each_format(db: Session, mapped: None,
                                                    kind: str) -> None:
    data = {"csv": as_csv, "xlsx": as_xlsx, "jsonl": as_jsonl}[kind](SAMPLE)
    result = run(db, data, f"好差评.{kind}")
    assert (result.imported, result.error_count, result.cases_opened) == (4, 0, 1)
    first, second, third, fourth = (stored(db, f"BZ202602000{n}") for n in range(1, 5))
    assert (first.org.name, first.channel, first.level, first.comment) == (
        "巴州区", "website", 5, "办事很快")
    assert (first.item_code, first.case_no) == ("511A0138000000", "BZ2026020001")
    assert second.rated_at == datetime(2026, 2, 3, 2, 0, tzinfo=UTC)  # epoch millis
    assert (third.org.name, third.channel, third.tags) == ("东城街道", "qrcode", "101、103")
    assert (fourth.org.name, fourth.channel, fourth.is_default) == (
        "市交通运输局", "system", True)


def test_header_names_match_whatever_their_case(db: Session) -> None:
    data = as_csv([record("BZ1")]).replace(b"projectNo", b"PROJECTNO").replace(b"pf,", b"PF,")
    assert run(db, data).imported == 1


@pytest.mark.parametrize(("pf", "channel", "on_site"), [
    ("1", "website", False), ("2", "app", False), ("3", "qrcode", True), ("4", "device", True),
    ("5", "kiosk", True), ("6", "sms", False), ("7", "system", False)])
def test_channel_comes_from_pf(db: Session, pf: str, channel: str, on_site: bool) -> None:
    run(db, as_csv([record("P" + pf, pf=pf)]))
    review = stored(db, "P" + pf)
    assert review.channel == channel
    assert review.is_default is (pf == "7")
    assert (review.dedup_key or "").count("|") == (2 if on_site else 1)  # 一次一评 per day


def test_an_unknown_pf_is_refused_naming_the_column(db: Session) -> None:
    with pytest.raises(ValidationFailed) as caught:
        run(db, as_csv([record("P8", pf="8")]))
    assert located(caught.value)[0][:2] == (2, "pf")


def test_system_default_ratings_are_counted_apart_with_default_ratings_off(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_REVIEW_DEFAULT_RATING_DAYS", "0")
    before = counted(db, "巴州区")
    run(db, as_csv([record("D1", pf="7"), record("D2", pf="1")]))
    after = counted(db, "巴州区")
    assert after.get((5, True), 0) - before.get((5, True), 0) == 1
    assert after.get((5, False), 0) - before.get((5, False), 0) == 1
    metrics = service.metrics(db, actor=SYSTEM_ACTOR, org=org_service.resolve_org(
        db, ref="巴州区"), period="2026-02")
    assert metrics["default_ratings"] >= 1


def test_satisfaction_maps_to_the_five_levels(db: Session) -> None:
    run(db, as_csv([record(f"L{n}", satisfaction=str(n)) for n in range(1, 6)]))
    assert [stored(db, f"L{n}").level for n in range(1, 6)] == [1, 2, 3, 4, 5]
    with pytest.raises(ValidationFailed) as caught:
        run(db, as_csv([record("L6", satisfaction="6")]))
    assert located(caught.value)[0][:2] == (2, "satisfaction")


def test_org_from_a_mapped_dept_code_wins_over_the_area(db: Session, mapped: None) -> None:
    run(db, as_csv([record("M1", deptCode=DEPT.lower(), areaCode="511902000000")]))
    assert stored(db, "M1").org.name == "市交通运输局"


def test_an_unmapped_dept_code_of_a_county_counts_for_the_county(db: Session) -> None:
    run(db, as_csv([record("M2", deptCode=OTHER_DEPT, areaCode="511902000000")]))
    assert stored(db, "M2").org.name == "巴州区"


def test_an_unmapped_dept_code_at_city_level_is_an_error_naming_it(db: Session) -> None:
    with pytest.raises(ValidationFailed) as caught:
        run(db, as_csv([record("M3", deptCode=OTHER_DEPT, areaCode="511900000000")]))
    (row, column, reason), = located(caught.value)
    assert (row, column) == (2, "deptCode")
    assert OTHER_DEPT in reason and "tongban reviews map-dept" in reason


def test_an_invalid_credit_code_is_refused(db: Session) -> None:
    wrong = DEPT[:17] + ("0" if DEPT[17] != "0" else "1")
    with pytest.raises(ValidationFailed) as caught:
        run(db, as_csv([record("M4", deptCode=wrong)]))
    assert "不是有效的统一社会信用代码" in located(caught.value)[0][2]
    with pytest.raises(ValidationFailed):
        service.map_dept_code(db, actor=SYSTEM_ACTOR, code=wrong,
                              org=org_service.resolve_org(db, ref="市交通运输局"))


def test_an_area_code_must_be_twelve_digits_of_a_known_division(db: Session) -> None:
    with pytest.raises(ValidationFailed) as caught:
        run(db, as_csv([record("A1", areaCode="5119"), record("A2", areaCode="110101000000")]))
    assert [(r, c) for r, c, _ in located(caught.value)] == [(2, "areaCode"), (3, "areaCode")]


def test_credit_code_check_character_follows_gb_32100() -> None:
    assert is_credit_code("91350100M000100Y43")  # the standard's example
    assert not is_credit_code("91350100M000100Y44")
    assert not is_credit_code("91350100M000100Y4")
    assert not is_credit_code("91350100M000I00Y43")  # I is not in the alphabet


def test_dept_code_is_mapped_once_and_remembered(db: Session) -> None:
    analyst = actor_of(db, role=Role.analyst)
    org = org_service.resolve_org(db, ref="市交通运输局")
    service.map_dept_code(db, actor=analyst, code=DEPT, org=org)
    service.map_dept_code(db, actor=analyst, code=DEPT, org=org)  # again: no change, no entry
    entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "org.alias_mapped",
                                                  AuditEntry.changes["value"].as_string() == DEPT
                                                  )).all()
    assert len(entries) == 1
    page = service.dept_codes(db, actor=analyst, params=ListParams(q=DEPT[:8].lower()))
    assert [(m.value, m.org.name) for m in page.items if m.org] == [(DEPT, "市交通运输局")]
    liaison = actor_of(db, role=Role.liaison, org="巴州区")
    with pytest.raises(PermissionDenied):
        service.map_dept_code(db, actor=liaison, code=OTHER_DEPT, org=org)


def test_reimport_is_idempotent(db: Session) -> None:
    data = as_jsonl(SAMPLE[:3])
    run(db, data, "a.jsonl")
    before = counted(db, "巴州区")
    again = run(db, data, "a.jsonl")
    assert (again.imported, again.skipped) == (0, 3)
    assert counted(db, "巴州区") == before


def test_a_second_rating_is_the_follow_up_of_the_first(db: Session) -> None:
    run(db, as_csv([record("F1", satisfaction="2", writingEvaluation="太慢")]))
    before = counted(db, "巴州区")
    cases = db.scalar(select(func.count()).select_from(NegativeCase))
    result = run(db, as_csv([record("F1", assessNumber="2", satisfaction="4",
                                    assessTime="2026-02-10 10:00:00")]))
    assert result.imported == 1
    first, second = stored(db, "F1"), stored(db, "F1", 2)
    assert second.follow_up_of == first.id
    assert (second.level, second.voided, second.dedup_key) == (4, True, None)
    assert counted(db, "巴州区") == before  # no new rating in ReviewCount
    assert db.scalar(select(func.count()).select_from(NegativeCase)) == cases


def test_a_follow_up_in_the_same_file_after_its_first_is_linked(db: Session) -> None:
    run(db, as_csv([record("F2", assessNumber="2", satisfaction="3"), record("F2")]))
    assert stored(db, "F2", 2).follow_up_of == stored(db, "F2").id


def test_a_follow_up_without_its_first_is_an_error(db: Session) -> None:
    with pytest.raises(ValidationFailed) as caught:
        run(db, as_csv([record("F3", assessNumber="2")]))
    assert located(caught.value) == [(2, "assessNumber", exchange.FIRST_MISSING)]


def test_same_certificate_same_key_different_differ(db: Session) -> None:
    run(db, as_csv([record("K1"), record("K2", certkeyGOV=f" {CERT.lower()[:-1]}4 "),
                    record("K3", certkeyGOV="513701199001015678")]))
    one, two, three = (stored(db, f"K{n}").rater_key for n in (1, 2, 3))
    assert one == two == privacy.rater_key(CERT)
    assert len(one) == 32 and one != three
    assert service.repeat_raters(db, actor=SYSTEM_ACTOR, period="2026-02") >= 1


def test_the_certificate_is_never_stored_in_clear(db: Session) -> None:
    run(db, as_csv([record("C1")]))
    dump = "\n".join(str(tuple(r)) for r in db.execute(
        text("SELECT * FROM review WHERE source = 'exchange:510'")))
    audit_dump = "\n".join(str(e.changes) for e in db.scalars(select(AuditEntry)))
    assert CERT not in dump and CERT[-8:] not in dump and CERT not in audit_dump


def test_rejects_keep_the_certificate_as_its_key_only(db: Session) -> None:
    rejects = io.StringIO()
    result = run(db, as_csv([record("R1"), record("R2", satisfaction="9")]), rejects=rejects)
    assert (result.imported, result.error_count) == (1, 1)
    written = rejects.getvalue()
    assert CERT not in written and CERT[-6:] not in written
    assert f"hmac:{privacy.rater_key(CERT)}" in written
    # The rejects file, fixed, imports again with the same rater key.
    fixed = written.replace(",9,", ",3,")
    rows = list(csv.DictReader(io.StringIO(fixed)))
    again = run(db, as_csv([{f: r[f] for f in FIELDS} for r in rows]))
    assert again.imported == 1
    assert stored(db, "R2").rater_key == privacy.rater_key(CERT)


def test_errors_never_show_the_certificate(db: Session) -> None:
    with pytest.raises(ValidationFailed) as caught:
        run(db, as_csv([record("E1", satisfaction="x", pf="9", assessTime="bad",
                               dataSource="")]))
    assert CERT not in json.dumps(caught.value.errors.as_dict(), ensure_ascii=False)
    assert CERT not in str(caught.value)


def test_cli_maps_a_dept_code_and_imports(db: Session, tmp_path: Path) -> None:
    runner = CliRunner()
    mapped = runner.invoke(cli, ["reviews", "map-dept", DEPT, "市交通运输局"])
    assert mapped.exit_code == 0, mapped.output
    path = tmp_path / "好差评.jsonl"
    path.write_bytes(as_jsonl([record("CLI1", deptCode=DEPT, areaCode="511900000000")]))
    imported = runner.invoke(cli, ["reviews", "import", str(path), "--json"])
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.output)["imported"] == 1
    refused = runner.invoke(cli, ["reviews", "map-dept", "123", "市交通运输局"])
    assert refused.exit_code == 1 and "统一社会信用代码" in refused.output
