"""对标 inputs with hostile text: item names, departments and phone fields that try
to break out of the markup come back escaped on the check page, in its tasks and in a refused
upload's errors."""

from __future__ import annotations

import io

from sqlalchemy.orm import Session

from tests.factories import logged_in_client, make_user
from tests.security.test_injection import LIVE, PAYLOAD, assert_inert
from tongban.benchmark import service
from tongban.core.security import SYSTEM_ACTOR, Role


def test_hostile_catalog_text_is_inert_on_the_check_page_and_in_its_tasks(db: Session) -> None:
    items = ("实施编码,事项名称,实施部门,法定办结时限,承诺办结时限,咨询电话\n"
             f"X1-511900000000-1,\"{PAYLOAD}\",市交通运输局,5,9,\"{PAYLOAD}\"\n"
             f"X2-511900000000-1,事项,\"{PAYLOAD}\",5,9,12345\n")
    service.import_catalog(db, actor=SYSTEM_ACTOR, city=service.resolve_city(db, ref="巴中"),
                           source=io.BytesIO(items.encode()), filename="x.csv")
    analyst = logged_in_client(db, make_user(db, role=Role.analyst))
    page = analyst.get("/benchmark/check")
    assert page.status_code == 200 and "&lt;svg onload=alert(1)&gt;" in page.text
    assert_inert(page.text, "/benchmark/check")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    analyst.post("/benchmark/check/tasks", data={"csrf_token": token})
    tasks = analyst.get("/rectification").text
    assert LIVE not in tasks


def test_a_hostile_file_name_and_cells_in_a_refused_upload_stay_text(db: Session) -> None:
    analyst = logged_in_client(db, make_user(db, role=Role.analyst))
    page = analyst.get("/benchmark")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    city = service.resolve_city(db, ref="广元")
    body = f"事项名称,事项类型\n\"{PAYLOAD}\",99\n".encode()  # a refused row: its name is kept
    sent = analyst.post("/benchmark/import", data={"csrf_token": token, "city": str(city.id)},
                        files={"file": (f"{PAYLOAD}.csv", body, "text/csv")})
    assert sent.status_code == 422 and 'data-testid="import-errors"' in sent.text
    assert_inert(sent.text, "/benchmark/import")
