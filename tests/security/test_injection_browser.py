"""In a real browser: planted script never runs (no dialog opens), and the strict CSP blocks
nothing of ours (no violation on the pages that draw charts, which still render)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx2 as httpx
import pytest

from tests.security.test_injection import PAYLOAD
from tongban.demo.city import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def _plant(base: str) -> dict[str, Any]:
    token = httpx.post(f"{base}/api/v1/auth/token", timeout=30, json={
        "username": "analyst", "password": DEMO_PASSWORD, "name": "xss"}).json()["token"]
    api = httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"})
    org = api.post("/orgs", json={"name": f"市{PAYLOAD}局", "short_name": PAYLOAD,
                                  "level": "department", "parent": "巴中市", "dept_class": "B"})
    assert org.status_code == 201, org.text
    task = api.post("/rectification/tasks", json={
        "category": "其他", "title": f"任务{PAYLOAD}", "detail": PAYLOAD,
        "org": org.json()["code"], "due_workdays": 3,
        "lines": [{"item_code": "X", "item_name": PAYLOAD, "problem": PAYLOAD}]})
    assert task.status_code == 201, task.text
    rating = httpx.post(f"{base}/api/v1/reviews", json={
        "channel": "网站", "org": org.json()["code"], "level": 1, "comment": PAYLOAD,
        "rated_at": datetime.now().astimezone().isoformat()})
    assert rating.status_code == 201, rating.text
    return {"org": org.json()["code"], "task": task.json()["id"]}


def test_planted_script_never_runs_and_the_csp_blocks_nothing_of_ours(
        live_server: str, page: Any) -> None:
    planted = _plant(live_server)
    dialogs: list[str] = []
    violations: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda msg: violations.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    charts = {"/reviews/dashboard": "#chart-heat",
              "/rectification": "#chart-ontime",
              "/assessment/sichuan-cities/2026-02/orgs/511900": "#chart-gap"}
    for path, chart in charts.items():
        page.goto(f"{live_server}{path}")
        page.wait_for_selector(f"{chart} canvas", timeout=10_000)
        page.hover(chart)
    for path in ("/reviews", f"/rectification/tasks/{planted['task']}", "/admin/audit",
                 f"/orgs/{planted['org']}", "/orgs?q=" + planted["org"], "/api/docs"):
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("networkidle")
    page.wait_for_selector("#swagger-ui .opblock", timeout=15_000)  # docs run under the CSP
    assert dialogs == []
    assert violations == []
