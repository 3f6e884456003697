"""Org scoping: every API route, called by a liaison of another org, yields 403/404, never data.

The route table below must name every route under /api/v1; a new route fails
``test_every_api_route_is_classified`` until its scoping expectation is written down here.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import api_client, errand_world, make_errand, make_user, picture
from tongban.app import create_app
from tongban.assessment import service as assessment
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.datasharing import service as datasharing
from tongban.ledger import service as ledger
from tongban.org import service
from tongban.rectification import service as rectification
from tongban.rectification.enums import TaskAction, TaskSource
from tongban.reviews import service as reviews
from tongban.reviews.models import NegativeCase, Review

VICTIM_ORG = "511902"  # 巴州区; the intruder is a liaison of 恩阳区 (511903)
VICTIM_TOWNSHIP = "511902001"  # 东城街道 of 巴州区


@dataclass(frozen=True)
class Probe:
    """How to call a route against the victim's data, and what must come back."""

    path: str
    body: Any = None
    expect: str = "denied"  # denied: 403/404 · no_victim_data: 200 without victim codes · own · public
    files: Any = None


SHEETS = "/api/v1/assessment/sheets/bz-counties/2026-04"
PUBLISHED = "/api/v1/assessment/sheets/bz-counties/2026-03"  # a liaison reads no draft


def _probes(victim_user_id: int, victim_token_id: int, victim_adjustment_id: int = 0,
            victim_task_id: int = 0, victim_line_id: int = 0,
            victim_attachment_id: int = 0,
            victim_case_id: int = 0,
            victim_errand_id: int = 0,
            victim_ledger_file_id: int = 0) -> dict[tuple[str, str], Probe]:
    TASK = f"/api/v1/rectification/tasks/{victim_task_id}"
    ERRAND = f"/api/v1/errands/{victim_errand_id}"
    LEDGER = f"/api/v1/ledgers/township-powers/orgs/{VICTIM_TOWNSHIP}/entries"
    return {
        ("GET", "/api/v1/orgs"): Probe("/api/v1/orgs?page_size=500", expect="no_victim_data"),
        ("GET", "/api/v1/orgs/{code}"): Probe(f"/api/v1/orgs/{VICTIM_ORG}"),
        ("GET", "/api/v1/orgs/{code}/children"): Probe(f"/api/v1/orgs/{VICTIM_ORG}/children"),
        ("POST", "/api/v1/orgs"): Probe(
            "/api/v1/orgs", {"name": "巴州区新局", "level": "department", "parent": "巴中市"}
        ),
        ("GET", "/api/v1/org-aliases"): Probe("/api/v1/org-aliases"),
        ("PUT", "/api/v1/org-aliases"): Probe(
            "/api/v1/org-aliases", {"kind": "code", "value": "91350100M000100Y43",
                                    "org": VICTIM_ORG}),
        ("GET", "/api/v1/cohorts"): Probe("/api/v1/cohorts"),
        ("GET", "/api/v1/cohorts/{code}"): Probe("/api/v1/cohorts/bz-counties"),
        ("POST", "/api/v1/cohorts"): Probe(
            "/api/v1/cohorts", {"code": "mine", "name": "x", "members": [VICTIM_ORG]}
        ),
        ("PUT", "/api/v1/cohorts/{code}/members"): Probe(
            "/api/v1/cohorts/bz-counties/members", {"members": []}
        ),
        ("GET", "/api/v1/users"): Probe("/api/v1/users"),
        ("POST", "/api/v1/users"): Probe(
            "/api/v1/users",
            {"username": "evil", "password": "longpassword", "role": "liaison",
             "org": VICTIM_ORG},
        ),
        ("GET", "/api/v1/users/{user_id}"): Probe(f"/api/v1/users/{victim_user_id}"),
        ("PATCH", "/api/v1/users/{user_id}"): Probe(
            f"/api/v1/users/{victim_user_id}", {"is_active": False}
        ),
        ("GET", "/api/v1/me"): Probe("/api/v1/me", expect="own"),
        ("GET", "/api/v1/me/contact"): Probe("/api/v1/me/contact", expect="own"),
        ("PUT", "/api/v1/me/contact"): Probe("/api/v1/me/contact", {"email": "me@example.cn"},
                                             "own"),
        ("GET", "/api/v1/me/tokens"): Probe("/api/v1/me/tokens", expect="own"),
        ("POST", "/api/v1/me/tokens"): Probe("/api/v1/me/tokens", {"name": "mine"}, "own"),
        ("DELETE", "/api/v1/me/tokens/{token_id}"): Probe(f"/api/v1/me/tokens/{victim_token_id}"),
        ("POST", "/api/v1/auth/token"): Probe(
            "/api/v1/auth/token", {"username": "liaison", "password": "wrong"}, "public"
        ),
        ("GET", "/api/v1/calendar/add-workdays"): Probe(
            "/api/v1/calendar/add-workdays?start=2026-09-28&n=15", expect="public"
        ),
        ("GET", "/api/v1/calendar/days/{day}"): Probe(
            "/api/v1/calendar/days/2026-10-10", expect="public"
        ),
        ("GET", "/api/v1/calendar/overrides"): Probe("/api/v1/calendar/overrides",
                                                     expect="public"),
        ("PUT", "/api/v1/calendar/overrides/{day}"): Probe(
            "/api/v1/calendar/overrides/2026-12-01", {"kind": "holiday"}
        ),
        ("DELETE", "/api/v1/calendar/overrides/{day}"): Probe(
            "/api/v1/calendar/overrides/2026-12-01"
        ),
        ("GET", "/api/v1/audit"): Probe("/api/v1/audit"),
        # the city's catalog is reference data every signed-in role reads; imports are
        # the managers'
        ("GET", "/api/v1/catalog/items"): Probe("/api/v1/catalog/items", expect="public"),
        ("GET", "/api/v1/catalog/items/{item_id}"): Probe("/api/v1/catalog/items/1",
                                                          expect="public"),
        ("GET", "/api/v1/catalog/items/by-code/{impl_code}"): Probe(
            "/api/v1/catalog/items/by-code/511A0138000000-511602000000-000-115113010833722043-1-00",
            expect="public"),
        ("POST", "/api/v1/catalog/imports"): Probe(
            "/api/v1/catalog/imports",
            files={"file": ("c.csv", "itemCode,name,taskType\n511B0001-1-00,新事项,1\n", "text/csv")}),
        ("GET", "/api/v1/audit/verify"): Probe("/api/v1/audit/verify"),
        # 对标: the league and the items across cities are the city-wide roles'; a liaison
        # sees its own department's suggestions only
        ("GET", "/api/v1/benchmark/league"): Probe("/api/v1/benchmark/league"),
        ("GET", "/api/v1/benchmark/groups"): Probe("/api/v1/benchmark/groups"),
        ("GET", "/api/v1/benchmark/groups/{group_id}"): Probe("/api/v1/benchmark/groups/1"),
        ("GET", "/api/v1/benchmark/suggestions"): Probe("/api/v1/benchmark/suggestions?page_size=500",
                                                        expect="no_victim_data"),
        ("GET", "/api/v1/benchmark/suggestions/{suggestion_id}"): Probe(
            "/api/v1/benchmark/suggestions/1"),
        ("POST", "/api/v1/benchmark/suggestions/{suggestion_id}/{action}"): Probe(
            "/api/v1/benchmark/suggestions/1/reject", {"reason": "不适用"}),
        # 办事指南体检: the city-wide roles'; a liaison neither reads it nor opens tasks
        ("GET", "/api/v1/benchmark/check"): Probe("/api/v1/benchmark/check"),
        ("POST", "/api/v1/benchmark/check/tasks"): Probe("/api/v1/benchmark/check/tasks"),
        ("GET", "/api/v1/assessment/schemes"): Probe("/api/v1/assessment/schemes"),
        ("POST", "/api/v1/assessment/schemes"): Probe("/api/v1/assessment/schemes",
                                                      {"yaml": "code: x"}),
        ("GET", "/api/v1/assessment/schemes/{code}/{version}"): Probe(
            "/api/v1/assessment/schemes/bz-hcp/2026.2"),
        ("GET", "/api/v1/assessment/scheme-diff"): Probe(
            "/api/v1/assessment/scheme-diff?old=sc-ywtb@2026.1&new=sc-ywtb@2026.2"),
        ("POST", "/api/v1/assessment/imports"): Probe(
            "/api/v1/assessment/imports",
            files={"file": ("m.csv", f"period,org,metric,value\n2026-04,{VICTIM_ORG},claimed,1\n",
                            "text/csv")}),
        ("POST", "/api/v1/assessment/metrics"): Probe(
            "/api/v1/assessment/metrics",
            {"source": "x", "values": [{"period": "2026-04", "org": VICTIM_ORG,
                                        "metric": "claimed", "value": 1}]}),
        ("POST", "/api/v1/assessment/sheets/{cohort}/{period}/compute"): Probe(
            f"{SHEETS}/compute"),
        ("POST", "/api/v1/assessment/sheets/{cohort}/{period}/publish"): Probe(
            f"{SHEETS}/publish"),
        ("POST", "/api/v1/assessment/sheets/{cohort}/{period}/corrections"): Probe(
            "/api/v1/assessment/sheets/bz-counties/2026-03/corrections", {"reason": "x"}),
        ("GET", "/api/v1/assessment/sheets/{cohort}/{period}/rank"): Probe(
            f"{PUBLISHED}/rank", expect="no_victim_data"),
        ("GET", "/api/v1/assessment/sheets/{cohort}/{period}/orgs/{org}/explain"): Probe(
            f"{SHEETS}/orgs/{VICTIM_ORG}/explain"),
        ("POST", "/api/v1/assessment/sheets/{cohort}/{period}/orgs/{org}/whatif"): Probe(
            f"{SHEETS}/orgs/{VICTIM_ORG}/whatif", {"set_points": {"S01": 5}}),
        ("GET", "/api/v1/assessment/sheets/{cohort}/{period}/alerts"): Probe(
            f"{PUBLISHED}/alerts", expect="no_victim_data"),
        ("GET", "/api/v1/assessment/trend/{cohort}/{org}"): Probe(
            f"/api/v1/assessment/trend/bz-counties/{VICTIM_ORG}"),
        ("GET", "/api/v1/assessment/adjustments"): Probe(
            "/api/v1/assessment/adjustments", expect="no_victim_data"),
        ("POST", "/api/v1/assessment/adjustments"): Probe(
            "/api/v1/assessment/adjustments",
            {"period": "2026-04", "org": VICTIM_ORG, "points": 5, "reason": "x"}),
        ("POST", "/api/v1/assessment/adjustments/{adjustment_id}/void"): Probe(
            f"/api/v1/assessment/adjustments/{victim_adjustment_id}/void", {"reason": "x"}),
        ("GET", "/api/v1/me/notifications"): Probe("/api/v1/me/notifications", expect="own"),
        ("GET", "/api/v1/rectification/tasks"): Probe(
            "/api/v1/rectification/tasks", expect="no_victim_data"),
        ("POST", "/api/v1/rectification/tasks"): Probe(
            "/api/v1/rectification/tasks",
            {"category": "其他", "title": "x", "org": VICTIM_ORG, "due_workdays": 3}),
        ("GET", "/api/v1/rectification/tasks/{task_id}"): Probe(TASK),
        ("POST", "/api/v1/rectification/tasks/{task_id}/actions/{action}"): Probe(
            f"{TASK}/actions/acknowledge", {}),
        ("POST", "/api/v1/rectification/tasks/{task_id}/lines/{line_id}/resolve"): Probe(
            f"{TASK}/lines/{victim_line_id}/resolve", {"resolution": "x"}),
        ("POST", "/api/v1/rectification/tasks/{task_id}/lines:resolve"): Probe(
            f"{TASK}/lines:resolve", {"line_ids": [victim_line_id], "resolution": "x"}),
        ("POST", "/api/v1/rectification/tasks/{task_id}/attachments"): Probe(
            f"{TASK}/attachments", files={"file": ("a.png", picture(), "image/png")}),
        ("GET", "/api/v1/rectification/attachments/{attachment_id}"): Probe(
            f"/api/v1/rectification/attachments/{victim_attachment_id}"),
        ("POST", "/api/v1/rectification/imports"): Probe(
            "/api/v1/rectification/imports",
            files={"file": ("f.csv", "item_code,item_name,problem,department,due\n"
                                     f"A,B,C,{VICTIM_ORG},2026-12-01\n", "text/csv")}),
        ("GET", "/api/v1/rectification/risk"): Probe("/api/v1/rectification/risk",
                                                     expect="no_victim_data"),
        ("POST", "/api/v1/reviews"): Probe(
            "/api/v1/reviews", {"source_id": "probe-1", "channel": "APP", "org": "511903",
                                "level": 5}, "public"),
        ("POST", "/api/v1/reviews:batch"): Probe(
            "/api/v1/reviews:batch", {"reviews": [{"source_id": "p2", "channel": "APP",
                                                   "org": VICTIM_ORG, "level": 1}]}),
        ("GET", "/api/v1/reviews"): Probe("/api/v1/reviews", expect="no_victim_data"),
        ("GET", "/api/v1/reviews/held"): Probe("/api/v1/reviews/held"),
        ("POST", "/api/v1/reviews/held/{review_id}/{decision}"): Probe(
            "/api/v1/reviews/held/1/count"),
        ("GET", "/api/v1/reviews/dept-codes"): Probe("/api/v1/reviews/dept-codes"),
        ("PUT", "/api/v1/reviews/dept-codes"): Probe(
            "/api/v1/reviews/dept-codes", {"code": "91350100M000100Y43", "org": VICTIM_ORG}),
        ("GET", "/api/v1/reviews/metrics"): Probe(
            f"/api/v1/reviews/metrics?org={VICTIM_ORG}&period=2026-11"),
        ("GET", "/api/v1/reviews/cases"): Probe("/api/v1/reviews/cases",
                                                expect="no_victim_data"),
        ("GET", "/api/v1/reviews/rating-code"): Probe(
            f"/api/v1/reviews/rating-code?org={VICTIM_ORG}"),
        ("GET", "/api/v1/reviews/cases/{case_id}"): Probe(
            f"/api/v1/reviews/cases/{victim_case_id}"),
        ("POST", "/api/v1/reviews/cases/{case_id}/actions/{action}"): Probe(
            f"/api/v1/reviews/cases/{victim_case_id}/actions/callback", {"note": "x"}),
        ("GET", "/api/v1/reviews/cases/{object_id}/supervision"): Probe(
            f"/api/v1/reviews/cases/{victim_case_id}/supervision"),
        ("POST", "/api/v1/reviews/cases/supervision"): Probe(
            "/api/v1/reviews/cases/supervision", {"kind": "urge", "ids": [victim_case_id]}),
        ("GET", "/api/v1/rectification/tasks/{object_id}/supervision"): Probe(
            f"{TASK}/supervision"),
        ("POST", "/api/v1/rectification/tasks/supervision"): Probe(
            "/api/v1/rectification/tasks/supervision", {"kind": "urge",
                                                        "ids": [victim_task_id]}),
        # 跑团代办: a liaison sees its zones' errands; a runner its own and its pool.
        ("GET", "/api/v1/datasharing/datasets"): Probe("/api/v1/datasharing/datasets",
                                                       expect="no_victim_data"),
        ("GET", "/api/v1/datasharing/datasets/{code}"): Probe(
            "/api/v1/datasharing/datasets/V-DS-1"),
        ("GET", "/api/v1/datasharing/datasets/{code}/deliveries"): Probe(
            "/api/v1/datasharing/datasets/V-DS-1/deliveries"),
        ("POST", "/api/v1/datasharing/datasets/{code}/deliveries"): Probe(
            "/api/v1/datasharing/datasets/V-DS-1/deliveries",
            files={"file": ("v.csv", "编号\nX\n".encode(), "text/csv")}),
        ("GET", "/api/v1/datasharing/quality"): Probe("/api/v1/datasharing/quality",
                                                      expect="no_victim_data"),
        ("GET", "/api/v1/datasharing/cascade"): Probe("/api/v1/datasharing/cascade",
                                                      expect="no_victim_data"),
        ("GET", "/api/v1/errands"): Probe("/api/v1/errands", expect="no_victim_data"),
        ("POST", "/api/v1/errands"): Probe("/api/v1/errands", {
            "item_id": 1, "contact_name": "x", "phone": "13800001111", "lat": 31.868,
            "lng": 106.748}),
        ("GET", "/api/v1/errands/pool"): Probe("/api/v1/errands/pool", expect="no_victim_data"),
        ("GET", "/api/v1/errands/runners"): Probe("/api/v1/errands/runners",
                                                  expect="no_victim_data"),
        ("POST", "/api/v1/errands/runners/me/duty"): Probe("/api/v1/errands/runners/me/duty",
                                                           {"on_duty": True}),
        ("POST", "/api/v1/errands/runners/me/position"): Probe(
            "/api/v1/errands/runners/me/position", {"lat": 31.8, "lng": 106.7}),
        ("GET", "/api/v1/errands/zones"): Probe("/api/v1/errands/zones",
                                               expect="no_victim_data"),
        ("PUT", "/api/v1/errands/zones/{org_id}/mode"): Probe(
            "/api/v1/errands/zones/1/mode", {"mode": "grab"}),
        ("GET", "/api/v1/errands/kpis"): Probe("/api/v1/errands/kpis", expect="no_victim_data"),
        ("GET", "/api/v1/errands/{errand_id}"): Probe(ERRAND),
        ("POST", "/api/v1/errands/{errand_id}/grab"): Probe(f"{ERRAND}/grab", {}),
        ("POST", "/api/v1/errands/{errand_id}/photos"): Probe(
            f"{ERRAND}/photos", files={"file": ("a.jpg", picture("JPEG"), "image/jpeg")}),
        ("POST", "/api/v1/errands/{errand_id}/actions/{action}"): Probe(
            f"{ERRAND}/actions/cancel", {"reason": "x"}),
        ("POST", "/api/v1/errands/{errand_id}/channel"): Probe(f"{ERRAND}/channel",
                                                               {"channel": "simulated"}),
        # a partner's callback: no session, its signature is the credential (401 without)
        ("POST", "/api/v1/errand/channels/{code}/callback"): Probe(
            "/api/v1/errand/channels/simulated/callback",
            {"event_id": "x", "order_id": "SIM-1", "status": "cancelled", "reason": ""},
            expect="public"),
        # 专项台账: a liaison reads its own orgs' entries; a lead department its indicator.
        ("GET", "/api/v1/ledgers"): Probe("/api/v1/ledgers", expect="no_victim_data"),
        ("GET", "/api/v1/ledgers/{type_code}/status"): Probe(
            "/api/v1/ledgers/township-powers/status?page_size=500", expect="no_victim_data"),
        ("GET", "/api/v1/ledgers/{type_code}/orgs/{org}/entries"): Probe(LEDGER),
        ("PUT", "/api/v1/ledgers/{type_code}/orgs/{org}/entries/{item}"): Probe(
            f"{LEDGER}/V-001", {"status": "not_taken", "reason": "其他"}),
        ("POST", "/api/v1/ledgers/{type_code}/orgs/{org}/entries/{item}/evidence"): Probe(
            f"{LEDGER}/V-001/evidence", files={"file": ("a.png", picture(), "image/png")}),
        ("GET", "/api/v1/ledgers/evidence/{attachment_id}"): Probe(
            f"/api/v1/ledgers/evidence/{victim_ledger_file_id}"),
        ("GET", "/api/v1/ledgers/supervision/{indicator}/{period}"): Probe(
            "/api/v1/ledgers/supervision/V-SV-1/2026-10", expect="no_victim_data"),
        # Reports cover every org of the city: citywide roles only.
        ("GET", "/api/v1/reports"): Probe("/api/v1/reports"),
        ("POST", "/api/v1/reports"): Probe(
            "/api/v1/reports", {"kind": "monthly", "cohort": "bz-counties", "period": "2026-03"}),
        ("GET", "/api/v1/reports/{report_id}"): Probe("/api/v1/reports/1"),
        ("GET", "/api/v1/reports/{report_id}/files/{fmt}"): Probe("/api/v1/reports/1/files/docx"),
    }


def _api_routes() -> set[tuple[str, str]]:
    spec = create_app().openapi()
    return {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
    }


def test_every_api_route_is_classified() -> None:
    assert _api_routes() == set(_probes(0, 0))


def victim_data(db: Session) -> list[int]:
    """A liaison of 巴州区 with a token, an adjustment, a task with a line and a file, and a
    差评 case: ids in the order :func:`_probes` takes them."""
    victim = make_user(db, role=Role.liaison, org=VICTIM_ORG)
    token, _ = service.create_api_token(db, actor=service.actor_for(victim), name="victim")
    victim_org = service.resolve_org(db, ref=VICTIM_ORG)
    adjustment, _ = assessment.record_adjustment(
        db, actor=SYSTEM_ACTOR, period="2026-04", org=victim_org, points=-1, reason="巴州区的扣分")
    task = rectification.create_task(
        db, actor=SYSTEM_ACTOR, source=TaskSource.city_inspection, category="其他",
        title="巴州区的任务", org=victim_org, issued_on=date(2026, 11, 2),
        due_on=date(2026, 11, 30), lines=[rectification.LineInput("A", "B", "C")],
        penalty=rectification.Penalty("D02", 0.5))
    rectification.transition(db, actor=SYSTEM_ACTOR, task=task, action=TaskAction.acknowledge)
    attachment = rectification.add_attachment(db, actor=SYSTEM_ACTOR, task=task,
                                              filename="a.png", content=picture())
    reviews.submit_batch(db, actor=SYSTEM_ACTOR, rows=[{
        "source": "probe", "source_id": "victim-1", "channel": "APP", "org": VICTIM_ORG,
        "level": "1", "case_no": "V1", "rated_at": datetime.now().astimezone()}])
    case_id = db.scalars(select(NegativeCase.id).join(Review).where(
        Review.source == "probe")).one()
    item, _ = errand_world(db)
    errand = make_errand(db, item=item, address="巴州区的代办地址")
    datasharing.import_catalog(
        db, actor=SYSTEM_ACTOR, catalog=io.BytesIO(
            f"数据集编码,数据集名称,提供部门,更新频率,共享类型,开放类型,重点数据\n"
            f"V-DS-1,巴州区的数据集,{VICTIM_ORG},月,无条件,开放,否\n".encode()),
        fields=io.BytesIO("数据集编码,字段名,类型,必填,格式,主键\nV-DS-1,编号,文本,是,,是\n".encode()),
        catalog_name="目录.csv", fields_name="字段.csv")
    datasharing.deliver(db, actor=SYSTEM_ACTOR, dataset_code="V-DS-1",
                        source=io.BytesIO("编号\n巴州区的编号\n".encode()), filename="v.csv")
    ledger.load_shipped_types(db)
    ledger.import_items(db, actor=SYSTEM_ACTOR, type_code="township-powers", filename="事项.csv",
                        source=io.BytesIO("事项编码,事项名称,类别\nV-001,某法定事权,法定\n".encode()))
    ledger.import_items(db, actor=SYSTEM_ACTOR, type_code="internet-supervision",
                        filename="指标.csv", source=io.BytesIO(
                            "事项编码,事项名称,类别,牵头部门,目标值\n"
                            "V-SV-1,事项认领率,市场监管局,市市场监督管理局,100\n".encode()))
    township = service.resolve_org(db, ref=VICTIM_TOWNSHIP)
    ledger.update_entry(db, actor=SYSTEM_ACTOR, type_code="township-powers", org=township,
                        item_code="V-001", given=ledger.EntryInput(notes="巴州区的台账备注"))
    evidence = ledger.add_attachment(db, actor=SYSTEM_ACTOR, type_code="township-powers",
                                     org=township, item_code="V-001", filename="a.png",
                                     content=picture())
    return [victim.id, token.id, adjustment.id, task.id, task.lines[0].id, attachment.id,
            case_id, errand.id, evidence.id]


@pytest.fixture
def intruder_and_victim(db: Session, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch) -> tuple[TestClient, list[int]]:
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path))
    ids = victim_data(db)
    intruder = make_user(db, role=Role.liaison, org="511903")
    return api_client(db, intruder), ids


def test_liaison_of_another_org_gets_no_data_from_any_route(
    db: Session, intruder_and_victim: tuple[TestClient, list[int]]
) -> None:
    client, ids = intruder_and_victim
    failures = []
    probes = _probes(*ids)
    for (method, template), probe in probes.items():
        if probe.files:
            response = client.request(method, probe.path, files=probe.files)
        else:
            response = client.request(method, probe.path, json=probe.body)
        text = response.text
        if probe.expect == "denied":
            ok = response.status_code in (403, 404)
        elif probe.expect == "no_victim_data":
            ok = response.status_code == 200 and VICTIM_ORG not in text
        elif probe.expect == "own":
            ok = response.status_code in (200, 201) and VICTIM_ORG not in text
        else:  # public reference data or a credential exchange, never org data
            ok = response.status_code < 500 and VICTIM_ORG not in text
        if not ok:
            failures.append(f"{method} {template}: {response.status_code} {text[:200]}")
    assert failures == []
