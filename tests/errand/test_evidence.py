"""Hand-over photos and the requester's 委托书: content decoded whole (Pillow), size
limits, one photo per hand-over, files served only to the errand's runner and its zone's
staff; the signature on the tracking page is what lets a runner pick up."""

from __future__ import annotations

import base64
import io
import re
import struct
import zlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import errand_world, logged_in_client, make_errand, make_runner, make_user
from tongban.app import create_app
from tongban.core.audit import AuditEntry
from tongban.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from tongban.core.security import Role
from tongban.errand import evidence, service
from tongban.errand.enums import ErrandAction
from tongban.errand.models import Errand
from tongban.org.service import actor_for


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


JPEG = _jpeg()


def _png(width: int = 300, height: int = 120) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture(autouse=True)
def _uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path))
    from tongban.core.config import get_settings
    get_settings.cache_clear()


def _picked_up(db: Session):  # type: ignore[no-untyped-def]
    item, _ = errand_world(db)
    runner = make_runner(db)
    errand = make_errand(db, item=item)
    actor = actor_for(runner.user)
    service.grab(db, actor=actor, errand_id=errand.id, runner_id=runner.id)
    service.transition(db, actor=actor, errand=errand, action=ErrandAction.pick_up)
    return errand, runner, actor


def test_the_runner_adds_one_photo_to_a_hand_over_and_it_is_audited(db: Session) -> None:
    errand, _, actor = _picked_up(db)
    handover = errand.handovers[0]
    found = evidence.add_photo(db, actor=actor, errand=errand, handover_id=handover.id,
                               content=JPEG)
    assert handover.photo_ref == f"file:{found.id}" and found.content_type == "image/jpeg"
    assert db.scalar(select(AuditEntry.action).where(
        AuditEntry.action == "errand.photo_added")) == "errand.photo_added"
    with pytest.raises(Conflict):
        evidence.add_photo(db, actor=actor, errand=errand, handover_id=handover.id,
                           content=JPEG)


@pytest.mark.parametrize("content", [b"GIF89a" + b"\x00" * 50, b"<svg onload=alert(1)>",
                                     b"%PDF-1.4", b""])
def test_anything_but_jpeg_or_png_is_refused_whatever_its_name(db: Session,
                                                                content: bytes) -> None:
    errand, _, actor = _picked_up(db)
    with pytest.raises(DomainError):
        evidence.add_photo(db, actor=actor, errand=errand,
                           handover_id=errand.handovers[0].id, content=content)
    assert errand.handovers[0].photo_ref == ""


def test_a_photo_over_the_limit_is_refused(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    errand, _, actor = _picked_up(db)
    monkeypatch.setenv("TONGBAN_ERRAND_PHOTO_MAX_BYTES", "1024")
    from tongban.core.config import get_settings
    get_settings.cache_clear()
    with pytest.raises(DomainError, match="上限"):
        evidence.add_photo(db, actor=actor, errand=errand,
                           handover_id=errand.handovers[0].id, content=JPEG + b"\x00" * 1024)


def test_another_runner_and_another_countys_liaison_cannot_add_or_read(db: Session) -> None:
    errand, _, actor = _picked_up(db)
    found = evidence.add_photo(db, actor=actor, errand=errand,
                               handover_id=errand.handovers[0].id, content=JPEG)
    other_runner = actor_for(make_runner(db).user)
    other_liaison = actor_for(make_user(db, role=Role.liaison, org="511903"))
    for intruder in (other_runner, other_liaison):
        with pytest.raises(NotFound):
            evidence.get_file(db, actor=intruder, file_id=found.id)
    with pytest.raises(PermissionDenied):
        evidence.add_photo(db, actor=other_runner, errand=errand,
                           handover_id=errand.handovers[0].id, content=JPEG)
    own_liaison = actor_for(make_user(db, role=Role.liaison, org="511902"))
    assert evidence.get_file(db, actor=own_liaison, file_id=found.id)[0].id == found.id
    assert evidence.get_file(db, actor=actor, file_id=found.id)[1].read_bytes() == JPEG


def test_the_runner_page_uploads_and_serves_the_photo_only_to_the_right_people(
        db: Session) -> None:
    errand, runner, _ = _picked_up(db)
    client = logged_in_client(db, runner.user)
    page = client.get("/errands/runner")
    assert f"/errands/{errand.id}/handovers/{errand.handovers[0].id}/photo" in page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    done = client.post(f"/errands/{errand.id}/handovers/{errand.handovers[0].id}/photo",
                       data={"csrf_token": csrf}, files={"file": ("a.png", JPEG, "image/png")},
                       follow_redirects=False)
    assert done.status_code == 303
    link = re.search(r'href="(/errands/files/\d+)"', client.get("/errands/runner").text)
    assert link is not None
    served = client.get(link.group(1))
    assert served.status_code == 200 and served.content == JPEG
    assert served.headers["content-type"] == "image/jpeg"
    stranger = logged_in_client(db, make_user(db, role=Role.liaison, org="511903"))
    assert stranger.get(link.group(1)).status_code == 404


# ---------------------------------------------------------------- 委托书


def _unsigned(db: Session):  # type: ignore[no-untyped-def]
    item, _ = errand_world(db)
    done = service.submit_public(db, client="198.51.100.9", request=service.Request(
        item_id=item.id, contact_name="王芳", phone="13912345678", lat=31.868, lng=106.748))
    return done.errand, str(done.tracking_token)


def _data_url(content: bytes) -> str:
    return evidence.SIGNATURE_PREFIX + base64.b64encode(content).decode()


def test_without_a_signature_pickup_stays_refused_and_signing_allows_it(db: Session) -> None:
    errand, token = _unsigned(db)
    runner = make_runner(db)
    actor = actor_for(runner.user)
    service.grab(db, actor=actor, errand_id=errand.id, runner_id=runner.id)
    with pytest.raises(Conflict, match="委托书"):
        service.transition(db, actor=actor, errand=errand, action=ErrandAction.pick_up)
    evidence.sign_authorisation(db, token=token, signature=_data_url(_png()))
    assert errand.authorised and errand.authorised_at is not None
    stored = evidence.authorisation_of(db, errand=errand)
    assert stored is not None and stored.content_type == "image/png"
    assert evidence.get_file(db, actor=actor, file_id=stored.id)[0].kind == "authorisation"
    service.transition(db, actor=actor, errand=errand, action=ErrandAction.pick_up)
    assert errand.state == "picked_up"


@pytest.mark.parametrize("signature", [
    "", "data:image/png;base64,!!!", _data_url(JPEG), _data_url(_png(5000, 10)),
    "data:image/svg+xml;base64," + base64.b64encode(b"<svg/>").decode(),
    _data_url(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)])
def test_bad_signatures_are_refused_and_nothing_changes(db: Session, signature: str) -> None:
    errand, token = _unsigned(db)
    with pytest.raises(DomainError):
        evidence.sign_authorisation(db, token=token, signature=signature)
    assert not errand.authorised and evidence.authorisation_of(db, errand=errand) is None


def test_a_signature_over_the_limit_is_refused(db: Session) -> None:
    errand, token = _unsigned(db)
    big = _png() + b"\x00" * (11 * 1024)
    with pytest.raises(DomainError, match="KB"):
        evidence.sign_authorisation(db, token=token, signature=_data_url(big))
    assert not errand.authorised


def test_signing_twice_or_with_a_wrong_token_is_refused(db: Session) -> None:
    _, token = _unsigned(db)
    with pytest.raises(NotFound):
        evidence.sign_authorisation(db, token="x" * 32, signature=_data_url(_png()))
    evidence.sign_authorisation(db, token=token, signature=_data_url(_png()))
    with pytest.raises(Conflict):
        evidence.sign_authorisation(db, token=token, signature=_data_url(_png()))


def test_the_tracking_page_offers_the_signature_pad_until_signed(db: Session) -> None:
    errand, token = _unsigned(db)
    client = TestClient(create_app())
    page = client.get(service.track_path(token))
    assert "data-signature-pad" in page.text and "/static/js/errand.js" in page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    done = client.post("/errand/track/sign", data={
        "token": token, "signature": _data_url(_png()), "csrf_token": csrf})
    assert done.status_code == 200 and "已签署委托书" in done.text
    assert "data-signature-pad" not in done.text
    db.refresh(errand)
    assert errand.authorised
    refused = client.post("/errand/track/sign", data={"token": token,
                                                      "signature": _data_url(_png())})
    assert refused.status_code == 403  # no CSRF token


def test_the_request_page_authorises_only_with_a_drawn_signature(db: Session) -> None:
    item, _ = errand_world(db)
    client = TestClient(create_app())
    page = client.get("/errand/new")
    assert "data-signature-pad" in page.text and 'name="authorised"' not in page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"item_id": str(item.id), "contact_name": "王芳", "phone": "13912345678",
            "lat": "31.868", "lng": "106.748", "csrf_token": csrf}
    client.post("/errand/new", data={**form, "authorised": "1"})
    client.post("/errand/new", data={**form, "signature": _data_url(_png())})
    unsigned, signed = db.scalars(select(Errand).order_by(Errand.id)).all()
    assert not unsigned.authorised and evidence.authorisation_of(db, errand=unsigned) is None
    assert signed.authorised and evidence.authorisation_of(db, errand=signed) is not None
    refused = client.post("/errand/new", data={**form, "signature": _data_url(JPEG)})
    assert refused.status_code == 422 and "PNG" in refused.text
    assert db.scalar(select(func.count(Errand.id))) == 2


def test_the_requester_sees_its_own_hand_over_photos_through_its_link_only(db: Session) -> None:
    item, _ = errand_world(db)
    runner = make_runner(db)
    submitted = service.submit_public(db, client="198.51.100.9", request=service.Request(
        item_id=item.id, contact_name="王芳", phone="13912345678", lat=31.868, lng=106.748,
        authorised=True))
    errand, token = submitted.errand, str(submitted.tracking_token)
    actor = actor_for(runner.user)
    service.grab(db, actor=actor, errand_id=errand.id, runner_id=runner.id)
    service.transition(db, actor=actor, errand=errand, action=ErrandAction.pick_up)
    photo = evidence.add_photo(db, actor=actor, errand=errand,
                               handover_id=errand.handovers[0].id, content=_jpeg())
    other = _picked_up(db)[0]
    stranger = evidence.add_photo(db, actor=actor_for(other.runner.user), errand=other,
                                  handover_id=other.handovers[0].id, content=_jpeg())
    client = TestClient(create_app())
    page = client.get(service.track_path(token)).text
    link = f"/errand/track/{token}/photos/{photo.id}"
    assert f'href="{link}"' in page
    shown = client.get(link)
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert client.get(f"/errand/track/{token}/photos/{stranger.id}").status_code == 404
    assert client.get(f"/errand/track/{'A' * 32}/photos/{photo.id}").status_code == 404
