"""Rating codes: the link and QR code that bring a citizen to the rating page of an org."""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import api_client, logged_in_client, make_user
from tongban.app import create_app
from tongban.cli import app as cli
from tongban.core.config import get_settings
from tongban.core.errors import DomainError, NotFound
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.org import service as org_service
from tongban.org.service import actor_for
from tongban.reviews import service
from tongban.reviews.enums import Channel
from tongban.reviews.models import Review


def decoded(png: bytes) -> str:
    """What a phone's camera reads from the QR code."""
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert [b.format for b in found] == [zxingcpp.BarcodeFormat.QRCode]
    return found[0].text


def test_a_scanned_code_opens_the_rating_page_of_its_org_item_and_case(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_PUBLIC_URL", "https://zwfw.example.gov.cn/")
    get_settings.cache_clear()
    org = org_service.resolve_org(db, ref="巴州区")
    code = service.rating_code(db, actor=SYSTEM_ACTOR, org=org, item_code=" 511A0138000000 ",
                               case_no="BJ-2026-1", channel=Channel.kiosk)
    link = decoded(code.png())
    assert link == code.link
    assert link.startswith("https://zwfw.example.gov.cn/rate?org=511902&item=511A0138000000")
    page = TestClient(create_app()).get(urlsplit(link).path + "?" + urlsplit(link).query)
    assert "巴州区" in page.text and "事项 511A0138000000" in page.text
    assert "办件 BJ-2026-1" in page.text and 'name="channel" value="kiosk"' in page.text
    assert code.svg().startswith("<svg") and "巴州区 好差评评价码" in code.svg()


def test_codes_refuse_the_hotline_and_over_long_case_numbers(db: Session) -> None:
    org = org_service.resolve_org(db, ref="巴州区")
    with pytest.raises(DomainError, match="12345"):
        service.rating_code(db, actor=SYSTEM_ACTOR, org=org, channel=Channel.hotline)
    with pytest.raises(DomainError, match="办件编号超过64个字符"):
        service.rating_code(db, actor=SYSTEM_ACTOR, org=org, case_no="9" * 65)


def test_a_liaison_makes_codes_for_its_own_org_only(db: Session) -> None:
    user = make_user(db, role=Role.liaison, org="巴州区")
    with pytest.raises(NotFound):
        service.rating_code(db, actor=actor_for(user), org=org_service.resolve_org(db, ref="恩阳区"))
    client = logged_in_client(db, user)
    own = client.get("/reviews/codes")
    assert own.status_code == 200
    card = own.text.split('data-testid="rating-card"')[1]
    assert "巴州区" in card and "org=511902" in card and "<svg" in card
    other = client.get("/reviews/codes", params={"org": "恩阳区"})
    assert other.status_code == 422 and "未找到组织「恩阳区」" in other.text
    assert 'data-testid="rating-card"' not in other.text
    assert client.get("/reviews/codes/qr.png", params={"org": "恩阳区"}).status_code == 404


def test_the_code_downloads_as_png_and_svg(db: Session) -> None:
    client = logged_in_client(db, make_user(db, role=Role.analyst))
    params = {"org": "恩阳区", "item": "511A0138000000", "channel": "window"}
    png = client.get("/reviews/codes/qr.png", params=params)
    assert png.headers["content-type"] == "image/png"
    assert "filename*=UTF-8''" in png.headers["content-disposition"]
    assert decoded(png.content).endswith("/rate?org=511903&item=511A0138000000&channel=window")
    svg = client.get("/reviews/codes/qr.svg", params=params)
    assert svg.headers["content-type"].startswith("image/svg+xml") and svg.text.startswith("<svg")
    assert client.get("/reviews/codes/qr.gif", params=params).status_code == 404
    assert client.get("/reviews/codes", params={"org": "恩阳区", "channel": "hotline"}
                      ).status_code == 422


def test_cli_prints_the_link_and_writes_the_code(db: Session, tmp_path: Path) -> None:
    out = tmp_path / "巴州区窗口.png"
    result = CliRunner().invoke(cli, ["reviews", "code", "--org", "巴中", "--case", "Q9",
                                      "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["org_code"] == "511900" and payload["file"] == str(out)
    assert decoded(out.read_bytes()) == payload["link"]
    refused = CliRunner().invoke(cli, ["reviews", "code", "--org", "巴州区", "--out",
                                       str(tmp_path / "q.gif")])
    assert refused.exit_code == 2 and not (tmp_path / "q.gif").exists()


def test_rating_page_without_a_known_org_asks_for_it(db: Session) -> None:
    client = TestClient(create_app())
    page = client.get("/rate?org=不存在的单位")
    assert "未找到评价对象「不存在的单位」" in page.text
    assert '<input name="org" required' in page.text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    thanks = client.post("/rate", data={"csrf_token": token, "org": "巴州区", "channel": "window",
                                        "level": "5"})
    assert thanks.status_code == 200 and "感谢您的评价" in thanks.text
    stored = db.scalars(select(Review).where(Review.source == "public")).one()
    assert stored.org.name == "巴州区"


def test_pages_state_the_configured_callback_deadline(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_REVIEW_CALLBACK_WORKDAYS", "2")
    monkeypatch.setenv("TONGBAN_REVIEW_RECTIFY_WORKDAYS", "10")
    get_settings.cache_clear()
    client = TestClient(create_app())
    page = client.get("/rate?org=511902")
    assert "须在2个工作日内回访核实，在10个工作日内整改并答复您" in page.text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    thanks = client.post("/rate", data={"csrf_token": token, "org": "511902", "channel": "window",
                                        "level": "1"})
    assert "2个工作日内回访核实，10个工作日内整改并答复您" in thanks.text
    inbox = logged_in_client(db, make_user(db, role=Role.analyst)).get("/reviews")
    assert "回访期限 2 个工作日、整改反馈期限 10 个工作日" in inbox.text


def test_api_gives_a_systems_receipt_the_rating_link_of_its_case(db: Session) -> None:
    client = api_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    answer = client.get("/api/v1/reviews/rating-code",
                        params={"org": "巴州区", "case": "BJ-7", "channel": "sms"})
    assert answer.status_code == 200
    assert answer.json()["link"].endswith("/rate?org=511902&case=BJ-7&channel=sms")
    assert answer.json()["org_name"] == "巴州区"
    hotline = client.get("/api/v1/reviews/rating-code", params={"org": "巴州区",
                                                                  "channel": "hotline"})
    assert hotline.status_code == 400 and "12345" in hotline.json()["detail"]
