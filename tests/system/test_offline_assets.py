"""/api/docs works offline (Swagger UI from npm, served here, no CDN), and every page has a favicon."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import logged_in_client, make_user
from tongban.app import create_app
from tongban.core.security import Role
from tongban.core.templating import TEMPLATE_DIR


def assets_of(html: str) -> list[str]:
    return re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)


def test_api_docs_load_only_assets_this_server_serves() -> None:
    client = TestClient(create_app())
    page = client.get("/api/docs")
    assert page.status_code == 200
    assets = assets_of(page.text)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in assets
    assert "/static/vendor/swagger-ui/swagger-ui.css" in assets
    for url in assets:
        assert url.startswith("/") and not url.startswith("//"), url
        assert client.get(url).status_code == 200, url
    assert "cdn" not in page.text.lower() and "https://" not in page.text


def test_every_page_names_the_favicon_and_it_is_served(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    for path in ("/", "/login", "/api/docs", "/rate"):
        assert '<link rel="icon" href="/static/favicon.svg"' in client.get(path).text, path
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg")
    pages = [p for p in TEMPLATE_DIR.rglob("*.html") if "<head" in p.read_text()
             and p.name != "standalone.html"]  # an archived report stands alone, offline
    assert pages and all("/static/favicon.svg" in p.read_text() for p in pages), pages
