"""季调度 commitments checked against the next quarter's score sheet (the data memo)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.factories import logged_in_client, make_user
from tests.ledger.conftest import csv_of
from tongban.assessment import service as assessment
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.ledger import service
from tongban.org import service as org_service

TYPE = "quarterly-commitments"


def _commit(db: Session, code: str, unit: str, metric: str, quarter: str = "2026Q1") -> None:
    service.update_entry(db, actor=SYSTEM_ACTOR, type_code=TYPE,
                         org=org_service.resolve_org(db, ref=unit), item_code=code,
                         given=service.EntryInput(fields={"quarter": quarter,
                                                          "indicator": metric}))


def test_the_memo_reads_the_next_quarters_sheet(db: Session) -> None:
    service.load_shipped_types(db)
    service.import_items(db, actor=SYSTEM_ACTOR, type_code=TYPE, filename="表态.csv",
                         source=csv_of("事项编码,事项名称,类别,责任单位,目标值\n"
                                       "J-1,差评按期整改率达到100%,整改,巴州区,1\n"
                                       "J-2,某项提升,提升,通江县,0.9\n"
                                       "J-3,数据归集,提升,市民政局,0.9\n"
                                       "J-4,下季度的,提升,南江县,0.9\n"))
    _commit(db, "J-1", "巴州区", "ontime_rectification_rate")
    _commit(db, "J-2", "通江县", "ontime_rectifcation_rate")  # a typo
    _commit(db, "J-3", "市民政局", "collect_rate")
    _commit(db, "J-4", "南江县", "collect_rate", quarter="2026Q2")
    checks = {c.view.item.code: c for c in service.memo(
        db, actor=SYSTEM_ACTOR, quarter="2026Q1", cohort_code="bz-counties")}
    assert set(checks) == {"J-1", "J-2", "J-3"}
    [april] = assessment.read_sheets(db, actor=SYSTEM_ACTOR, cohort_code="bz-counties",
                                     periods=["2026-04"])
    row = next(r for r in april.rows if r.org_code == "511902")
    by_hand = round(row.values["ontime_rectified"] / row.values["bad_cases_due"], 4)
    assert checks["J-1"].figure is not None and checks["J-1"].figure.value == by_hand
    assert checks["J-1"].met is (by_hand >= 1)
    assert checks["J-1"].sheet.endswith("2026年4月成绩单第1版（草稿）")
    assert "是否为 ontime_rectification_rate" in checks["J-2"].missing
    assert checks["J-2"].met is None
    assert checks["J-3"].missing == "市民政局不在该分组的成绩单中"
    analyst = logged_in_client(db, make_user(db, role=Role.analyst, org="511900"))
    page = analyst.get("/ledgers/memo?quarter=2026Q1&cohort=bz-counties").text
    memo = page.split('data-testid="memo"')[1].split("</table>")[0]
    assert "差评按期整改率达到100%" in memo and "无数据" in memo and "差评按期整改率" in memo
