"""Personal data: phone numbers encrypted with data keys apart from the session secret, keys
that rotate without loss, loud failure with the wrong keys; numbers masked in every output."""

from __future__ import annotations

import io
import json
import os
import zipfile
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import api_client, logged_in_client, make_user
from tests.reviews.test_intake import HEADER, row
from tongban.app import ProductionNotReady, check_production_ready
from tongban.cli import app as cli
from tongban.core import privacy
from tongban.core.config import get_settings
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.core.workdays import local_today
from tongban.org import service as org_service
from tongban.reviews import service
from tongban.reviews.enums import CaseAction
from tongban.reviews.models import NegativeCase, Review

OLD_KEY = "v0eA3N8m1T0Yq3CJfN9X4nJH6p0O0Yb4lq0sC3A1t2E="
NEW_KEY = privacy.new_data_key()


def use_keys(monkeypatch: pytest.MonkeyPatch, *keys: str, secret: str | None = None) -> None:
    monkeypatch.setenv("TONGBAN_DATA_KEYS", ",".join(keys))
    if secret:
        monkeypatch.setenv("TONGBAN_SECRET_KEY", secret)
    get_settings.cache_clear()


def rated_with_phone(db: Session, sid: str = "pii-1") -> Review:
    service.import_reviews(db, actor=SYSTEM_ACTOR, filename="r.csv", source=io.BytesIO(
        (HEADER + row(sid, level="1", case=f"K-{sid}", named="是", phone="13800002222")).encode()))
    return db.scalars(select(Review).where(Review.source_id == sid)).one()


def test_changing_the_session_secret_loses_no_phone_number(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    use_keys(monkeypatch, OLD_KEY)
    review = rated_with_phone(db)
    use_keys(monkeypatch, OLD_KEY, secret="another-session-secret-that-is-long-enough-42")
    assert privacy.reveal(review.phone_cipher) == "13800002222"


def test_keys_rotate_to_the_newest_and_the_old_key_can_then_go(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    use_keys(monkeypatch, OLD_KEY)
    review = rated_with_phone(db)
    use_keys(monkeypatch, NEW_KEY, OLD_KEY)
    assert privacy.reveal(review.phone_cipher) == "13800002222"  # old data still readable
    result = CliRunner().invoke(cli, ["keys", "rotate", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rotated"] >= 1
    db.expire_all()
    use_keys(monkeypatch, NEW_KEY)  # the old key removed
    assert privacy.reveal(db.get(Review, review.id).phone_cipher) == "13800002222"  # type: ignore[union-attr]
    assert CliRunner().invoke(cli, ["keys", "check"]).exit_code == 0


def test_the_wrong_keys_fail_loudly_and_the_server_will_not_start(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    use_keys(monkeypatch, OLD_KEY)
    review = rated_with_phone(db)
    use_keys(monkeypatch, NEW_KEY)
    with pytest.raises(privacy.UndecryptableData):
        privacy.reveal(review.phone_cipher)
    with pytest.raises(ProductionNotReady) as refused:
        check_production_ready()
    assert "TONGBAN_DATA_KEYS" in str(refused.value)
    checked = CliRunner().invoke(cli, ["keys", "check", "--json"])
    assert checked.exit_code == 1 and json.loads(checked.output)["unreadable"] >= 1


def test_production_needs_data_keys(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_ENV", "production")
    monkeypatch.delenv("TONGBAN_DATA_KEYS", raising=False)
    get_settings.cache_clear()
    with pytest.raises(ProductionNotReady) as refused:
        check_production_ready()
    assert "TONGBAN_DATA_KEYS" in str(refused.value)


@pytest.mark.parametrize("text,shown", [
    ("电话13800002222", "电话138****2222"),
    ("138-0000-2222", "138****2222"),
    ("138 0000 4444", "138****4444"),
    ("１３８００００５５５５", "１３８****５５５５"),
    ("+86 138 0000 2222", "+86 138****2222"),
    ("身份证511902199001011234号", "身份证511902********1234号"),
    ("51190219900101123x", "511902********123x"),
    ("老身份证 511902900101123", "老身份证 511902******123"),
    ("办件 511A0147300000 与订单 20261201123456789012", "办件 511A0147300000 与订单 20261201123456789012"),
    ("138 - 0000 - 2222", "138****2222"),
    ("139.0000.3333", "139****3333"),
    ("511902 1990 0101 1234", "511902********1234"),
    ("(138)0000-2222", "(138****2222"),
    ("138/0000/2222", "138****2222"),
    ("138\t0000\n2222", "138****2222"),
    ("1 3 8 0 0 0 0 2 2 2 2", "138****2222"),
    ("tel:13800002222x", "tel:138****2222x"),
    ("1380000222213900003333", "138****2222 139****3333"),
    ("时间 2026-03-02 09:00:00，金额 1,380,000 元", "时间 2026-03-02 09:00:00，金额 1,380,000 元"),
    ("BZ20261201-000777", "BZ20261201-000777"),
])
def test_numbers_are_masked_however_they_are_written(text: str, shown: str) -> None:
    assert privacy.mask_text(text) == shown


def test_free_text_is_masked_on_pages_and_api_for_everyone_but_the_contact_number(
        db: Session) -> None:
    review = rated_with_phone(db, "pii-2")
    case_ = db.scalars(select(NegativeCase).where(NegativeCase.review_id == review.id)).one()
    liaison_user = make_user(db, role=Role.liaison, org="巴州区")
    service.act(db, actor=org_service.actor_for(liaison_user), case_=case_,
                action=CaseAction.callback, note="已回访，群众留了另一个号码 139-0000-3333")
    for actor_role in (Role.admin, Role.analyst, Role.leader):
        page = logged_in_client(db, make_user(db, role=actor_role)).get(
            f"/reviews/cases/{case_.id}").text
        assert "139-0000-3333" not in page and "139****3333" in page
        assert "13800002222" not in page
    handling = logged_in_client(db, liaison_user).get(f"/reviews/cases/{case_.id}").text
    assert "13800002222" in handling  # the contact number, to the liaison handling the case
    assert "139-0000-3333" not in handling  # free text stays masked for everyone
    api = api_client(db, make_user(db, role=Role.analyst)).get(
        f"/api/v1/reviews/cases/{case_.id}").json()
    assert api["phone"] == "138****2222"


def test_the_rejects_file_is_private_and_removed_after_retention(
        db: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "评价.csv"
    source.write_text(HEADER + row("rj-1", phone="13800002222", org="火星市"), encoding="utf-8")
    rejects = tmp_path / "拒收.csv"
    rejects.write_text("old")
    rejects.chmod(0o644)
    result = CliRunner().invoke(cli, ["reviews", "import", str(source), "--skip-invalid",
                                      str(rejects), "--json"])
    assert result.exit_code == 0, result.output
    assert rejects.stat().st_mode & 0o777 == 0o600
    assert "13800002222" in rejects.read_text(encoding="utf-8-sig")  # rows as they came
    assert service.remove_old_rejects(db, as_of=local_today()) == 0  # within retention
    stamp = datetime.combine(local_today() - timedelta(days=40), time()).timestamp()
    os.utime(rejects, (stamp, stamp))
    later = local_today() + timedelta(days=get_settings().review_rejects_retention_days + 1)
    assert service.remove_old_rejects(db, as_of=later) == 1
    assert not rejects.exists()


def test_reports_mask_numbers_in_every_format(db: Session) -> None:
    from datetime import date

    from tongban.rectification import service as rectification
    from tongban.rectification.enums import TaskSource
    from tongban.reports import service as reports
    from tongban.reports.enums import ReportFormat, ReportKind

    org = org_service.resolve_org(db, ref="巴州区")
    rectification.create_task(
        db, actor=SYSTEM_ACTOR, source=TaskSource.city_inspection, category="其他",
        title="回访群众138-0000-2222（身份证511902199001011234）", org=org,
        issued_on=date(2026, 11, 2), due_on=date(2026, 11, 10),
        lines=[rectification.LineInput("A", "B", "C")])
    document = reports.build(db, actor=SYSTEM_ACTOR, request=reports.ReportRequest(
        ReportKind.weekly, as_of=date(2026, 11, 23)))
    files = reports.render(document)
    html = files[ReportFormat.html].decode()
    assert "138****2222" in html and "138-0000-2222" not in html
    assert "199001011234" not in html
    for fmt in (ReportFormat.docx, ReportFormat.xlsx):
        with zipfile.ZipFile(io.BytesIO(files[fmt])) as archive:
            text = "".join(archive.read(n).decode("utf-8", "ignore") for n in archive.namelist()
                           if n.endswith(".xml"))
        assert "138****2222" in text and "138-0000-2222" not in text, fmt


def test_task_fields_case_numbers_and_audit_changes_are_masked(db: Session) -> None:
    from datetime import date

    from tongban.rectification import service as rectification
    from tongban.rectification.enums import TaskSource

    pii = "回访 138-0000-2222 身份证 511902199001011234"
    task = rectification.create_task(
        db, actor=SYSTEM_ACTOR, source=TaskSource.city_inspection, category="其他",
        title=f"任务{pii}", detail=pii, responsible_person="张三13800002222",
        org=org_service.resolve_org(db, ref="巴州区"), issued_on=date(2026, 11, 2),
        due_on=date(2026, 11, 30), lines=[rectification.LineInput("A13800002222", pii, pii)])
    analyst = api_client(db, make_user(db, role=Role.admin))
    body = json.dumps(analyst.get(f"/api/v1/rectification/tasks/{task.id}").json(),
                      ensure_ascii=False)
    assert "138-0000-2222" not in body and "13800002222" not in body
    assert "199001011234" not in body and "138****2222" in body
    page = logged_in_client(db, make_user(db, role=Role.leader)).get(
        f"/rectification/tasks/{task.id}").text
    assert "138-0000-2222" not in page and "13800002222" not in page
    audit_api = json.dumps(analyst.get("/api/v1/audit?page_size=200").json(), ensure_ascii=False)
    assert "13800002222" not in audit_api and "138-0000-2222" not in audit_api
    review = rated_with_phone(db, "pii-case")
    db.execute(Review.__table__.update().where(Review.__table__.c.id == review.id)
               .values(case_no="13700001111"))
    case_ = db.scalars(select(NegativeCase).where(NegativeCase.review_id == review.id)).one()
    case_page = logged_in_client(db, make_user(db, role=Role.analyst)).get(
        f"/reviews/cases/{case_.id}").text
    assert "13700001111" not in case_page and "137****1111" in case_page


def test_a_malformed_data_key_is_a_plain_refusal(db: Session,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    rated_with_phone(db, "pii-bad-key")
    use_keys(monkeypatch, "not-a-key")
    with pytest.raises(ProductionNotReady) as refused:
        check_production_ready()
    assert "无效的密钥" in str(refused.value)
