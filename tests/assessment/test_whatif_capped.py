"""The what-if says when it capped an entered value at the indicator's maximum."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.factories import api_client, csrf_of, logged_in_client, make_user
from tongban.assessment import analysis, service
from tongban.core.numbers import precise
from tongban.core.security import SYSTEM_ACTOR, Role

FEB = "/assessment/sichuan-cities/2026-02/orgs/511900"


def e01(db: Session) -> tuple[str, float]:
    """The name and maximum of indicator E01 on the province's February sheet."""
    sheet = service.require_sheet(db, cohort_code="sichuan-cities", period="2026-02")
    indicator = service.scheme_definition(sheet.scheme).indicator("E01")
    assert indicator is not None
    return indicator.name, indicator.max_points


def test_points_over_the_maximum_are_capped_and_the_result_says_so(db: Session) -> None:
    name, top = e01(db)
    capped = analysis.whatif(db, actor=SYSTEM_ACTOR, cohort_code="sichuan-cities",
                             period="2026-02", org_ref="巴中", set_points={"E01": top + 50})
    at_max = analysis.whatif(db, actor=SYSTEM_ACTOR, cohort_code="sichuan-cities",
                             period="2026-02", org_ref="巴中", set_points={"E01": top})
    assert capped.after_total == at_max.after_total
    assert capped.notes == [f"E01 {name}：输入 {precise(top + 50)} 分，已按该指标满分 {precise(top)} 分封顶"]
    assert at_max.notes == []


def test_the_page_and_the_api_state_the_cap(db: Session) -> None:
    _, top = e01(db)
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    fragment = client.post(f"{FEB}/whatif", data={"indicator_code": "E01",
                                                  "indicator_value": str(top + 1)},
                           headers={"X-CSRF-Token": csrf_of(client, "/assessment")}).text
    note = fragment.split('data-testid="whatif-note">')[1].split("</p>")[0]
    assert note.endswith(f"已按该指标满分 {precise(top)} 分封顶")
    within = client.post(f"{FEB}/whatif", data={"indicator_code": "E01",
                                                "indicator_value": str(top / 2)},
                         headers={"X-CSRF-Token": csrf_of(client, "/assessment")}).text
    assert "whatif-note" not in within and "封顶" not in within
    api = api_client(db, make_user(db, role=Role.analyst))
    result = api.post(f"/api/v1{FEB.replace('/assessment/', '/assessment/sheets/')}/whatif",
                      json={"set_points": {"E01": top + 1}}).json()
    assert len(result["notes"]) == 1 and f"满分 {precise(top)} 分封顶" in result["notes"][0]
    plain = api.post(f"/api/v1{FEB.replace('/assessment/', '/assessment/sheets/')}/whatif",
                     json={"set_points": {"E01": 0}}).json()
    assert plain["notes"] == []
