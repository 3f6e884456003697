"""A configured map tile layer opens the pages' img-src to its host only — never scripts, and
never a host the setting smuggles in; an http or script URL is refused as a setting."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from tongban.app import create_app
from tongban.core.config import Settings, get_settings
from tongban.core.middleware import CONTENT_SECURITY_POLICY, content_security_policy, tile_source


@pytest.mark.parametrize(("url", "source"), [
    ("https://t{s}.tianditu.gov.cn/vec_w/wmts?tk=K&x={x}&y={y}&l={z}", "https://*.tianditu.gov.cn"),
    ("https://tile.example.org:8443/{z}/{x}/{y}.png", "https://tile.example.org:8443"),
    ("https://a.b{s}.example.org/{z}/{x}/{y}.png", ""),  # CSP has no wildcard inside a name
    ("https://x.org;script-src *;/{z}/{x}/{y}", ""),
    ("https://x.org 'unsafe-eval'/{z}", ""),
    ("http://tile.example.org/{z}/{x}/{y}.png", ""),
    ("", ""),
])
def test_the_tile_host_becomes_an_image_source_and_nothing_else(url: str, source: str) -> None:
    assert tile_source(url) == source
    policy = content_security_policy(url)
    if source:
        assert f"img-src 'self' data: {source};" in policy
        assert policy.replace(f" {source}", "") == CONTENT_SECURITY_POLICY
    else:
        assert policy == CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("url", ["http://tile.example.org/{z}/{x}/{y}.png",
                                 "javascript:alert(1)", "https://x.org/\"><script>"])
def test_an_unsafe_tile_url_is_refused_as_a_setting(url: str) -> None:
    with pytest.raises(ValidationError):
        Settings(map_tile_url=url)


def test_pages_carry_the_tile_host_only_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "tianditu" not in TestClient(create_app()).get("/login").headers[
        "content-security-policy"]
    monkeypatch.setenv("TONGBAN_MAP_TILE_URL", "https://t{s}.tianditu.gov.cn/{z}/{x}/{y}")
    get_settings.cache_clear()
    header = TestClient(create_app()).get("/login").headers["content-security-policy"]
    assert "img-src 'self' data: https://*.tianditu.gov.cn;" in header
    assert "script-src 'self';" in header
