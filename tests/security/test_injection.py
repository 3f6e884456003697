"""Text a user typed never runs: a marker payload written into every string field the API
and imports accept comes back escaped on every page, chart, report and export."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import api_client, logged_in_client, make_user, scheme_yaml
from tongban.core.security import Role
from tongban.reviews.models import NegativeCase, Review

#: Breaks out of a single- or double-quoted attribute and opens a tag with a handler.
PAYLOAD = "'\"><svg onload=alert(1)>"
LIVE = "<svg onload"


def assert_inert(html: str, where: str) -> None:
    """No payload as markup; data for scripts only in JSON blocks that parse."""
    assert LIVE not in html, f"{where}: the payload renders as markup"
    assert "data-chart='" not in html and 'data-chart="{' not in html, where
    for block in re.findall(r'<script type="application/json" id="[^"]+">(.*?)</script>', html,
                            flags=re.S):
        assert "<" not in block, f"{where}: a JSON block carries a raw <"
        json.loads(block)
    assert not re.search(r"\son[a-z]+=", html.split("<body", 1)[-1].replace(
        "svg onload=alert(1)&gt;", "")), f"{where}: an inline event handler"


def plant(db: Session) -> dict[str, object]:
    """The payload in org names, a scheme's names, a rating, a task, an adjustment, a cohort."""
    analyst = api_client(db, make_user(db, role=Role.analyst))
    org = analyst.post("/api/v1/orgs", json={
        "name": f"市{PAYLOAD}局", "short_name": f"{PAYLOAD}", "level": "department",
        "parent": "巴中市", "dept_class": "A"})
    assert org.status_code == 201, org.text
    code = org.json()["code"]
    cohort = analyst.post("/api/v1/cohorts", json={
        "code": "xss-cohort", "name": f"分组{PAYLOAD}", "description": PAYLOAD,
        "members": [code, "巴州区", "恩阳区"]})
    assert cohort.status_code == 201, cohort.text
    indicators = f"""
      - {{code: X1, name: {json.dumps("认领率" + PAYLOAD)}, max_points: 6,
         rule: {{type: ratio, numerator: [claimed], denominator: should_claim}}}}
      - {{code: X2, name: {json.dumps("指南" + PAYLOAD)}, max_points: 4,
         rule: {{type: per_event_deduction, metric: bad_guides, points_each: 0.5}}}}
"""
    scheme = analyst.post("/api/v1/assessment/schemes", json={"yaml": scheme_yaml(
        code="xss-scheme", cohort="xss-cohort", indicators=indicators)})
    assert scheme.status_code == 201, scheme.text
    values = [{"period": "2026-03", "org": ref, "metric": metric, "value": value}
              for ref in (code, "巴州区", "恩阳区")
              for metric, value in (("claimed", 8), ("should_claim", 10), ("bad_guides", 1))]
    assert analyst.post("/api/v1/assessment/metrics",
                        json={"source": PAYLOAD, "values": values}).status_code == 200
    adjustment = analyst.post("/api/v1/assessment/adjustments", json={
        "period": "2026-03", "org": code, "points": -0.5, "reason": f"扣分{PAYLOAD}"})
    assert adjustment.status_code == 201, adjustment.text
    for period in ("2026-02", "2026-03"):
        assert analyst.post("/api/v1/assessment/metrics", json={"source": "x", "values": [
            dict(v, period=period) for v in values]}).status_code == 200
        sheet = analyst.post(f"/api/v1/assessment/sheets/xss-cohort/{period}/compute")
        assert sheet.status_code == 200, sheet.text
    task = analyst.post("/api/v1/rectification/tasks", json={
        "category": "其他", "title": f"任务{PAYLOAD}", "detail": PAYLOAD, "org": "巴州区",
        "due_workdays": 5, "lines": [{"item_code": PAYLOAD, "item_name": PAYLOAD,
                                       "problem": PAYLOAD}]})
    assert task.status_code == 201, task.text
    listed = analyst.post("/api/v1/catalog/imports", files={"file": ("items.csv", (
        "itemCode,name,department,main_item,taskType\n"
        + ",".join(f'"{v}"' for v in ("511X9999-1-00", f"事项{PAYLOAD}".replace('"', '""'),
                                      PAYLOAD.replace('"', '""'),
                                      PAYLOAD.replace('"', '""'), "1")) + "\n").encode(),
        "text/csv")})
    assert listed.status_code == 201, listed.text
    public = TestClient(analyst.app)
    rating = public.post("/api/v1/reviews", json={
        "channel": "网站", "org": "巴州区", "level": 1, "comment": f"差{PAYLOAD}",
        "item_code": "511X9999-1-00",
        "case_no": f"X{PAYLOAD}"[:60], "rated_at": datetime.now().astimezone().isoformat()})
    assert rating.status_code == 201, rating.text
    case_id = db.query(NegativeCase.id).join(Review).filter(
        Review.comment == f"差{PAYLOAD}").scalar()
    return {"org": code, "task": task.json()["id"], "case": case_id}


def test_planted_text_is_inert_on_every_page(db: Session) -> None:
    planted = plant(db)
    admin = logged_in_client(db, make_user(db, role=Role.admin))
    liaison = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    pages = [
        "/", "/orgs", f"/orgs/{planted['org']}", "/cohorts", "/cohorts/xss-cohort",
        "/assessment?cohort=xss-cohort&period=2026-03",
        f"/assessment/xss-cohort/2026-03/orgs/{planted['org']}",
        "/assessment/schemes", "/assessment/adjustments", "/reviews", "/reviews/dashboard",
        f"/reviews/cases/{planted['case']}", "/rectification", "/rectification/risk",
        f"/rectification/tasks/{planted['task']}", "/admin/audit", "/inbox",
        "/reports/preview?kind=weekly&as_of=2026-12-01", "/catalog?q=511X9999",
    ]
    for path in pages:
        response = admin.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert_inert(response.text, path)
    for path in ("/reviews", f"/reviews/cases/{planted['case']}", "/catalog?q=511X9999",
                 f"/rectification/tasks/{planted['task']}", "/inbox"):
        response = liaison.get(path)
        assert response.status_code == 200, path
        assert_inert(response.text, f"liaison {path}")


def test_planted_text_stays_text_in_the_api(db: Session) -> None:
    planted = plant(db)
    analyst = api_client(db, make_user(db, role=Role.analyst))
    task = analyst.get(f"/api/v1/rectification/tasks/{planted['task']}")
    assert task.headers["content-type"].startswith("application/json")
    assert task.json()["title"] == f"任务{PAYLOAD}"  # data as entered, JSON-escaped


def test_every_page_carries_the_strict_csp(db: Session) -> None:
    admin = logged_in_client(db, make_user(db, role=Role.admin))
    for path in ("/", "/login", "/rate", "/api/docs", "/reviews/dashboard", "/admin/audit"):
        directives = dict(d.strip().split(" ", 1) for d in
                          admin.get(path).headers["content-security-policy"].split(";"))
        assert directives["script-src"] == "'self'", path
        assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'", path
    docs = admin.get("/api/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs
    assert "cdn" not in docs.lower() and "<script>" not in docs


def test_templates_hold_no_inline_script_handler_or_style(repo_root: Path) -> None:
    templates = repo_root / "src" / "tongban" / "web" / "templates"
    for path in templates.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(templates)
        assert not re.search(r"\son[a-z]+\s*=", text), f"{where}: an inline event handler"
        assert "javascript:" not in text, f"{where}: a javascript: link"
        assert not re.search(r"<script(?![^>]*(\bsrc=|application/json))", text), \
            f"{where}: an inline script"
        assert " style=" not in text, f"{where}: an inline style attribute"
