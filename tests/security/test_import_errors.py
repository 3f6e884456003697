"""One error format on every path, bounded however bad the file: errors of a kind grouped with
their rows, at most ``import_error_groups_max`` kinds listed, then 另有 N 处错误."""

from __future__ import annotations

import base64
import csv
import io
import json
import time
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import api_client, csrf_of, logged_in_client, make_user
from tests.security.import_paths import PATHS, csv_bytes
from tongban.assessment import importers
from tongban.cli import app as cli
from tongban.core.config import get_settings
from tongban.core.errors import ErrorGroups, RowError, ValidationFailed
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.reviews import service

PATH = {p.name: p for p in PATHS}
HEADER = "period,org,metric,value\n"


@pytest.fixture
def groups_max(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("TONGBAN_IMPORT_ERROR_GROUPS_MAX", "5")
    get_settings.cache_clear()
    return 5


def refused(db: Session, text: str, name: str = "sec.csv") -> ValidationFailed:
    with pytest.raises(ValidationFailed) as excinfo:
        importers.import_file(db, actor=SYSTEM_ACTOR, source=io.BytesIO(text.encode()),
                              filename=name)
    return excinfo.value


def test_errors_of_one_kind_are_one_group_with_their_rows() -> None:
    errors = ErrorGroups(file="f.csv", limit=50)
    for row in [*range(3245, 3425), 3500]:
        errors.append(RowError(row, "org", "未找到组织「火星州」"))
    errors.append(RowError(7, "value", "数值「x」不是数字"))
    [org, value] = errors.groups
    assert org.as_dict() == {"file": "f.csv", "rows": [[3245, 3424], 3500], "count": 181,
                             "column": "org", "reason": "未找到组织「火星州」"}
    assert str(org) == "未找到组织「火星州」：「org」列第3245–3424、3500行，共181行"
    assert str(value) == "数值「x」不是数字：「value」列第7行"
    assert errors.count == 182 and errors.unlisted == 0


def test_a_group_names_ten_runs_of_rows_and_counts_the_rest() -> None:
    errors = ErrorGroups(limit=50)
    for row in range(2, 300, 2):
        errors.append(RowError(row, "level", "评价等级「9」应为1–5或其中文名称"))
    [group] = errors.groups
    assert group.rows == [2, 4, 6, 8, 10, 12, 14, 16, 18, 20] and group.count == 149
    assert str(group).endswith("第2、4、6、8、10、12、14、16、18、20行等，共149行")


def test_a_300k_row_bad_file_lists_a_bounded_report(db: Session) -> None:
    """900,000 errors: one kind of bad month, one of bad metric name, and a bad value each
    different; the report lists 50 kinds and counts the rest."""
    lines = "".join(f"2026-13,巴中,认领 数,x{n}\n" for n in range(300_000))
    started = time.perf_counter()
    failure = refused(db, HEADER + lines)
    assert time.perf_counter() - started < 30
    errors = failure.errors
    assert errors.count == 900_000 and failure.summary == "sec.csv 有 900000 处错误，未导入任何数据"
    assert len(errors.groups) == 50
    period, metric, *values = errors.groups
    assert (period.rows, period.count) == ([[2, 300_001]], 300_000)
    assert str(period) == "考核期「2026-13」不是 YYYY-MM 格式：「period」列第2–300001行，共300000行"
    assert metric.count == 300_000 and [v.rows for v in values[:2]] == [[2], [3]]
    assert errors.unlisted == 300_000 - 48
    assert errors.lines()[-1] == f"另有 {300_000 - 48} 处错误"
    assert len(json.dumps(errors.as_dict(), ensure_ascii=False)) < 10_000


def test_the_number_of_kinds_listed_is_a_setting(db: Session, groups_max: int) -> None:
    lines = "".join(f"2026-02,巴中,sec_{n},x{n}\n" for n in range(20))
    failure = refused(db, HEADER + lines)
    assert len(failure.errors.groups) == groups_max
    assert failure.errors.lines()[-1] == "另有 15 处错误"
    assert str(failure).splitlines()[-1] == "  - 另有 15 处错误"


def test_the_api_gives_the_grouped_errors(db: Session, groups_max: int) -> None:
    client = api_client(db, make_user(db, role=Role.analyst))
    lines = "".join(f"2026-02,火星州,sec_{n},{n}\n" for n in range(180))
    lines += "".join(f"2026-02,巴中,sec_x{n},x{n}\n" for n in range(10))
    response = client.post("/api/v1/assessment/imports",
                           files={"file": ("sec.csv", (HEADER + lines).encode(), "text/csv")})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "sec.csv 有 190 处错误，未导入任何数据"
    assert body["errors"][0] == {"file": "sec.csv", "rows": [[2, 181]], "count": 180,
                                 "column": "org", "reason": "未找到组织「火星州」"}
    assert len(body["errors"]) == groups_max
    assert (body["error_count"], body["more_errors"]) == (190, 6)


def test_the_import_page_shows_each_kind_once_with_its_rows(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    token = csrf_of(client, "/assessment/import")
    lines = [f"2026-02,巴中,sec_{n},{n}\n" for n in range(3243)]
    lines += [f"2026-02,火星州,sec_a{n},{n}\n" for n in range(180)]
    response = client.post("/assessment/import", data={"csrf_token": token},
                           files={"file": ("sec.csv", (HEADER + "".join(lines)).encode(),
                                           "text/csv")})
    assert response.status_code == 422
    assert "未找到组织「火星州」：「org」列第3245–3424行，共180行" in response.text
    assert response.text.count("未找到组织") == 1


def session_of(client: object) -> dict[str, object]:
    """The signed session cookie's content (Starlette: base64 JSON, then the signature)."""
    cookie = client.cookies["tongban_session"]  # type: ignore[attr-defined]
    payload = cookie.split(".")[0]
    return json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def test_calendar_import_errors_are_on_the_page_not_in_the_cookie(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.admin))
    token = csrf_of(client, "/admin/calendar")
    rows = "".join(f"2031-01-{n:02d},放假{n}\n" for n in range(1, 29))
    response = client.post("/admin/calendar/import", data={"csrf_token": token},
                           files={"file": ("2031.csv", f"date,kind\n{rows}".encode(), "text/csv")},
                           follow_redirects=False)
    assert response.status_code == 422
    assert "2031.csv 有 28 处错误，未导入任何记录" in response.text
    assert "类型「放假1」无效，应为 holiday 或 workday：「kind」列第2行" in response.text
    assert "flash" not in session_of(client)
    assert "工作日历" in response.text  # the page itself, with its import form
    assert "2031.csv" not in client.get("/admin/calendar").text


def test_skip_invalid_writes_every_rejected_row_while_the_listing_is_bounded(
        db: Session, groups_max: int) -> None:
    reviews = PATH["reviews"]
    rows = reviews.rows(150)
    for n, row in enumerate(rows[:120]):
        row[3] = f"不存在的单位{n}"  # a different reason in each row
    rejects = io.StringIO()
    result = service.import_reviews(db, actor=SYSTEM_ACTOR, source=io.BytesIO(reviews.csv(rows)),
                                    filename="sec.csv", rejects=rejects)
    assert (result.imported, result.error_count) == (30, 120)
    assert len(result.errors.groups) == groups_max and result.errors.unlisted == 115
    written = list(csv.reader(io.StringIO(rejects.getvalue())))[1:]
    assert [int(r[-2]) for r in written] == list(range(2, 122))


def test_cli_json_gives_the_grouped_errors(db: Session, tmp_path: Path) -> None:
    feedback = PATH["feedback"]
    rows = feedback.rows(4)
    for row in rows:
        row[3] = "不存在局"
    file = tmp_path / "sec.csv"
    file.write_bytes(csv_bytes([feedback.header, *rows]))
    result = CliRunner().invoke(cli, ["rectify", "import", str(file), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "tasks": 0, "lines": 0, "detail": "sec.csv 有 4 处错误，未导入任何任务",
        "errors": [{"file": "sec.csv", "rows": [[2, 5]], "count": 4, "column": "department",
                    "reason": "未找到组织「不存在局」"}],
        "error_count": 4, "more_errors": 0}
    human = CliRunner().invoke(cli, ["rectify", "import", str(file)])
    assert "未找到组织「不存在局」：「department」列第2–5行，共4行" in human.output
