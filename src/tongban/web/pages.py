"""The home page: a short overview for the logged-in user with one real chart; the API docs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from tongban.core.config import get_settings
from tongban.core.db import REQUEST_DB
from tongban.core.listing import ListParams
from tongban.core.security import Actor
from tongban.core.templating import render
from tongban.org import service as org_service
from tongban.org.access import require_actor
from tongban.org.enums import Area, OrgLevel

router = APIRouter(include_in_schema=False)

SHORT_LABELS = {
    OrgLevel.province: "省",
    OrgLevel.city: "市州",
    OrgLevel.county: "县区",
    OrgLevel.department: "市级部门",
    OrgLevel.township: "乡镇街道",
}


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request, db: Session = REQUEST_DB, actor: Actor = Depends(require_actor)
) -> Response:
    counts = org_service.org_level_counts(db, actor=actor)
    shown = {level: n for level, n in counts.items() if n}
    chart = {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 48, "right": 16, "top": 24, "bottom": 32},
        "xAxis": {
            "type": "category",
            "data": [SHORT_LABELS[level] for level in shown],
            "axisLabel": {"interval": 0},
        },
        "yAxis": {"type": "log", "name": "个数(对数坐标)", "logBase": 10},
        "series": [{
            "type": "bar",
            "data": list(shown.values()),
            "itemStyle": {"color": "#1d4f91"},
            "label": {"show": True, "position": "top"},
            "barMaxWidth": 48,
        }],
    }
    own_org = org_service.own_org(db, actor)
    cohort_count = (org_service.list_cohorts(db, actor=actor, params=ListParams(page_size=1)).total
                    if Area.cohorts in org_service.areas(actor) else 0)
    today = datetime.now(ZoneInfo(get_settings().timezone)).strftime("%Y年%m月%d日")
    return render(
        request, "home.html",
        {"chart": chart, "total_orgs": sum(counts.values()), "own_org": own_org,
         "cohort_count": cohort_count, "today": today},
    )



@router.get("/api/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> Response:
    """Swagger UI from the npm package, started by a script file (no inline script)."""
    return render(request, "api_docs.html", {"openapi_url": "/api/openapi.json"})
