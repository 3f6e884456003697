"""跑团代办 on the web: the public request page (CSRF, rate limit, escaping, tracking link),
the runner page, the API (idempotency key, grab, scoping by role and org), masked phones."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import (
    api_client,
    csrf_of,
    errand_world,
    logged_in_client,
    make_errand,
    make_runner,
    make_user,
)
from tongban.app import create_app
from tongban.core.security import Role
from tongban.errand.models import Errand

PHONE = "13912345678"
EVIL = "'\"><svg onload=alert(1)>"


def _form(item_id: int, **changes: str) -> dict[str, str]:
    return {"item_id": str(item_id), "contact_name": "王芳", "phone": PHONE, "lat": "31.868",
            "lng": "106.748", "address": "江北大道1号", "authorised": "1", **changes}


def _public(db: Session) -> tuple[TestClient, str]:
    client = TestClient(create_app())
    return client, csrf_of(client, "/errand/new")


def test_a_citizen_submits_without_login_and_follows_the_tracking_link(db: Session) -> None:
    item, _ = errand_world(db)
    client, csrf = _public(db)
    page = client.get("/errand/new")
    assert "我授权跑手代为领取/递交材料" in page.text and "/static/js/errand.js" in page.text
    done = client.post("/errand/new", data={**_form(item.id), "csrf_token": csrf})
    assert done.status_code == 200, done.text
    path = re.search(r'href="(/errand/track/[A-Za-z0-9_-]{32})"', done.text)
    assert path is not None
    tracked = client.get(path.group(1))
    assert tracked.status_code == 200 and "待接单" in tracked.text
    assert PHONE not in done.text + tracked.text and "139****5678" in tracked.text


def test_the_public_submit_needs_the_csrf_token(db: Session) -> None:
    item, _ = errand_world(db)
    client, _ = _public(db)
    refused = client.post("/errand/new", data=_form(item.id))
    assert refused.status_code == 403
    assert db.query(Errand).count() == 0


def test_the_public_submit_is_rate_limited(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_ERRAND_RATE_PER_CLIENT", "2")
    item, _ = errand_world(db)
    client, csrf = _public(db)
    codes = [client.post("/errand/new", data={**_form(item.id), "csrf_token": csrf}).status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]


def test_typed_markup_is_shown_as_text_everywhere(db: Session) -> None:
    item, _ = errand_world(db)
    client, csrf = _public(db)
    done = client.post("/errand/new", data={**_form(item.id, contact_name=EVIL, address=EVIL,
                                                    note=EVIL), "csrf_token": csrf})
    path = re.search(r'href="(/errand/track/[^"]+)"', done.text)
    assert path is not None
    runner = make_runner(db)
    admin = logged_in_client(db, make_user(db, role=Role.admin))
    pages = [client.get(path.group(1)).text, admin.get("/errands").text,
             logged_in_client(db, runner.user).get("/errands/runner").text]
    refused = client.post("/errand/new", data={**_form(item.id, phone="x", address=EVIL),
                                               "csrf_token": csrf})
    assert refused.status_code == 422
    for text in [*pages, refused.text]:
        assert "<svg onload" not in text


def test_wrong_or_malformed_tracking_tokens_are_the_same_404(db: Session) -> None:
    item, _ = errand_world(db)
    make_errand(db, item=item)
    client = TestClient(create_app())
    for token in ("x", "A" * 32, "A" * 31 + "%2F", "../../etc/passwd"):
        assert client.get(f"/errand/track/{token}").status_code == 404


def test_an_idempotency_key_returns_the_same_errand(db: Session) -> None:
    item, _ = errand_world(db)
    client = api_client(db, make_user(db, role=Role.liaison, org="511902"))
    body = {"item_id": item.id, "contact_name": "张三", "phone": PHONE, "lat": 31.868,
            "lng": 106.748, "authorised": True}
    first = client.post("/api/v1/errands", json=body, headers={"Idempotency-Key": "order-1"})
    again = client.post("/api/v1/errands", json=body, headers={"Idempotency-Key": "order-1"})
    other = client.post("/api/v1/errands", json=body, headers={"Idempotency-Key": "order-2"})
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert first.json()["id"] == again.json()["id"] != other.json()["id"]
    assert first.json()["channel"] == "api" and first.json()["phone"] == "139****5678"
    assert again.json()["created"] is False and again.json()["tracking_path"] is None
    assert PHONE not in first.text + again.text


def test_scoping_runner_liaison_and_another_org(db: Session) -> None:
    item, _ = errand_world(db)
    runner, other_runner = make_runner(db), make_runner(db)
    grabbed = make_errand(db, item=item)
    pooled = make_errand(db, item=item, at=(31.869, 106.749))
    far = make_errand(db, item=item, at=(31.912, 107.245))  # 通江: out of reach
    runner_api = api_client(db, runner.user)
    assert runner_api.post(f"/api/v1/errands/{grabbed.id}/grab", json={}).json()["outcome"] == "won"
    mine = {e["id"] for e in runner_api.get("/api/v1/errands").json()["items"]}
    assert mine == {grabbed.id}
    pool = {e["errand"]["id"] for e in runner_api.get("/api/v1/errands/pool").json()["items"]}
    assert pool == {pooled.id}
    assert runner_api.get(f"/api/v1/errands/{far.id}").status_code == 404
    taken = api_client(db, other_runner.user).post(f"/api/v1/errands/{grabbed.id}/grab", json={})
    assert taken.status_code == 409 and "已被抢" in taken.json()["detail"]
    assert api_client(db, other_runner.user).get(f"/api/v1/errands/{grabbed.id}").status_code == 404
    step = runner_api.post(f"/api/v1/errands/{grabbed.id}/actions/pick_up", json={})
    assert step.status_code == 200 and step.json()["state"] == "picked_up"
    liaison = api_client(db, make_user(db, role=Role.liaison, org="511902"))
    assert {grabbed.id, pooled.id} <= {e["id"] for e in liaison.get("/api/v1/errands").json()["items"]}
    stranger = api_client(db, make_user(db, role=Role.liaison, org="511903"))
    assert stranger.get("/api/v1/errands").json()["items"] == []
    assert stranger.get(f"/api/v1/errands/{grabbed.id}").status_code == 404
    assert stranger.post(f"/api/v1/errands/{pooled.id}/actions/cancel",
                         json={"reason": "x"}).status_code == 404


def test_the_runner_page_toggles_duty_and_grabs_from_the_pool(db: Session) -> None:
    item, _ = errand_world(db)
    runner = make_runner(db, on_duty=False)
    errand = make_errand(db, item=item)
    browser = logged_in_client(db, runner.user)
    page = browser.get("/errands/runner")
    assert page.status_code == 200 and f"grab-{errand.id}" not in page.text
    csrf = csrf_of(browser, "/errands/runner")
    browser.post("/errands/runner/duty", data={"on_duty": "1", "csrf_token": csrf})
    page = browser.get("/errands/runner")
    assert f'data-testid="grab-{errand.id}"' in page.text
    terms = page.text.split(f'data-testid="pool-terms-{errand.id}"')[1].split("</p>")[0]
    assert "时限" in terms and "代办费" in terms  # what the runner weighs before grabbing
    assert PHONE not in page.text  # not before it holds the errand
    browser.post(f"/errands/{errand.id}/grab", data={"csrf_token": csrf})
    page = browser.get("/errands/runner")
    assert f'data-testid="act-{errand.id}-pick_up"' in page.text
    # the runner holding it may call the requester; the next step is the primary button and
    # 办理失败 sits apart, asking for a reason and a confirmation
    assert f'href="tel:{PHONE}" data-testid="call-{errand.id}"' in page.text
    assert re.search(rf'class="primary" data-testid="act-{errand.id}-pick_up"', page.text)
    fail = page.text.split('class="fail-step"')[1].split("</details>")[0]
    assert "data-confirm=" in fail and 'name="reason" required' in fail
    stepped = browser.post(f"/errands/{errand.id}/actions/pick_up",
                           data={"csrf_token": csrf}, follow_redirects=False)
    assert stepped.headers["location"] == f"/errands/runner#errand-{errand.id}"
    other = logged_in_client(db, make_runner(db).user).get("/errands/runner").text
    assert PHONE not in other
    assert browser.post(f"/errands/{errand.id}/grab").status_code == 403  # no CSRF token


def test_keys_rotate_re_encrypts_requesters_phones(db: Session,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from tests.security.test_keys_and_masking import NEW_KEY, OLD_KEY, use_keys
    from tongban.cli import app as cli
    from tongban.core import privacy

    use_keys(monkeypatch, OLD_KEY)
    item, _ = errand_world(db)
    errand = make_errand(db, item=item)
    use_keys(monkeypatch, NEW_KEY, OLD_KEY)
    result = CliRunner().invoke(cli, ["keys", "rotate", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["rotated"] >= 1
    db.expire_all()
    use_keys(monkeypatch, NEW_KEY)
    assert privacy.reveal(db.get(Errand, errand.id).phone_cipher) == PHONE  # type: ignore[union-attr]


def test_the_requester_rates_with_a_comment_on_the_tracking_page(db: Session) -> None:
    from tongban.errand import service
    from tongban.errand.enums import ErrandAction
    from tongban.org.service import actor_for
    from tongban.reviews.models import Review

    item, _ = errand_world(db)
    runner = make_runner(db)
    submitted = service.submit_public(db, client="198.51.100.7", request=service.Request(
        item_id=item.id, contact_name="王芳", phone=PHONE, lat=31.868, lng=106.748,
        authorised=True))
    errand, token = submitted.errand, submitted.tracking_token
    actor = actor_for(runner.user)
    service.grab(db, actor=actor, errand_id=errand.id, runner_id=runner.id)
    for action in (ErrandAction.pick_up, ErrandAction.at_window, ErrandAction.finish,
                   ErrandAction.deliver):
        service.transition(db, actor=actor, errand=errand, action=action)
    client = TestClient(create_app())
    path = service.track_path(str(token))
    page = client.get(path)
    assert 'name="comment"' in page.text and 'maxlength="500"' in page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    done = client.post("/errand/track", data={"token": token, "rating": "5", "comment": EVIL,
                                              "csrf_token": csrf})
    assert done.status_code == 200 and "<svg onload" not in done.text
    review = db.query(Review).filter(Review.source_id == f"errand:{errand.id}").one()
    assert review.comment == " ".join(EVIL.split()) and review.level == 5


def test_the_requesters_page_shows_the_steps_the_runner_and_withdraws_before_pickup(
        db: Session) -> None:
    from tongban.errand import service
    from tongban.org.service import actor_for

    item, _ = errand_world(db)
    runner = make_runner(db)
    runner.user.display_name, runner.user.phone = "赵强", "13800002222"
    submitted = service.submit_public(db, client="198.51.100.8", request=service.Request(
        item_id=item.id, contact_name="王芳", phone=PHONE, lat=31.868, lng=106.748,
        authorised=True))
    errand, token = submitted.errand, str(submitted.tracking_token)
    client = TestClient(create_app())
    page = client.get(service.track_path(token)).text
    steps = page.split('data-testid="errand-steps"')[1].split("</ol>")[0]
    assert steps.count('class="done"') == 1 and "已提交" in steps and "已送达" in steps
    assert 'href="tel:12345"' in page and 'data-testid="withdraw-errand"' in page
    assert 'data-testid="errand-runner"' not in page
    service.grab(db, actor=actor_for(runner.user), errand_id=errand.id, runner_id=runner.id)
    db.flush()
    page = client.get(service.track_path(token)).text
    assert "跑手：赵师傅" in page and 'href="tel:13800002222"' in page
    assert page.split('data-testid="errand-steps"')[1].split("</ol>")[0].count('class="done"') == 2
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    done = client.post("/errand/track/withdraw", data={"token": token, "csrf_token": csrf})
    assert done.status_code == 200 and "已撤回您的代办申请" in done.text, re.sub(r"<[^>]+>", " ", done.text)[-800:]
    db.refresh(errand)
    db.refresh(runner)
    assert errand.state == "cancelled" and runner.active_count == 0  # the slot is free again
    assert "tel:13800002222" not in done.text and 'data-testid="withdraw-errand"' not in done.text
    assert "已取消" in done.text.split('data-testid="errand-steps"')[1].split("</ol>")[0]
    # a withdrawal without the link's token, or after pickup, is refused
    assert client.post("/errand/track/withdraw", data={"token": "A" * 32,
                                                       "csrf_token": csrf}).status_code == 404


def test_a_citizen_orders_by_town_and_address_without_a_point(db: Session) -> None:
    from tongban.errand.models import ErrandZone
    from tongban.org import service as org_service

    item, _ = errand_world(db)
    from tongban.core.security import SYSTEM_ACTOR

    town = next(t for t in org_service.children(db, actor=SYSTEM_ACTOR, org=org_service.resolve_org(
        db, ref="511902")) if t.level == "township")
    client, csrf = _public(db)
    page = client.get("/errand/new").text
    assert f'<option value="{town.code}">{town.name}</option>' in page
    no_place = client.post("/errand/new", data={**_form(item.id, lat="", lng=""),
                                                "csrf_token": csrf})
    assert no_place.status_code == 422 and "选择所在乡镇（街道）" in no_place.text
    no_address = client.post("/errand/new", data={**_form(item.id, lat="", lng="", address="",
                                                          town=town.code), "csrf_token": csrf})
    assert no_address.status_code == 422 and "请填写详细地址" in no_address.text
    not_a_town = client.post("/errand/new", data={**_form(item.id, lat="", lng="",
                                                          town="511902"), "csrf_token": csrf})
    assert not_a_town.status_code == 422 and "不是乡镇（街道）" in not_a_town.text
    done = client.post("/errand/new", data={**_form(item.id, lat="", lng="", town=town.code),
                                            "csrf_token": csrf})
    assert done.status_code == 200, done.text
    errand = db.query(Errand).order_by(Errand.id.desc()).first()
    assert errand is not None and errand.town_code == town.code
    seat = db.query(ErrandZone).filter(ErrandZone.org_id == errand.zone_org_id).one()
    assert errand.zone.code == "511902"
    assert (errand.pickup_lat, errand.pickup_lng) == (seat.seat_lat, seat.seat_lng)
    console = logged_in_client(db, make_user(db, role=Role.liaison, org="511902"))
    row = console.get("/errands/console").text.split(f'id="queue-{errand.id}"')[1]
    assert "仅到乡镇" in row.split("</tr>")[0]
