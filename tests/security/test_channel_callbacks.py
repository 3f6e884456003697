"""Attacks on the third-party channels' public callback route: forged, tampered, stale,
replayed, ambiguous and oversized callbacks change nothing."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import errand_world, make_errand
from tongban.app import create_app
from tongban.core.security import SYSTEM_ACTOR
from tongban.errand import channels
from tongban.errand.enums import PartnerChannel
from tongban.errand.models import ChannelEvent, Errand

SIM = PartnerChannel.simulated
ROUTE = "/api/v1/errand/channels/simulated/callback"


@pytest.fixture
def handed(db: Session) -> Errand:
    item, _ = errand_world(db)
    errand = make_errand(db, item=item)
    return channels.hand_to_channel(db, actor=SYSTEM_ACTOR, errand=errand, code="simulated")


def _body(errand: Errand, status: str = "cancelled", event: str = "e-1") -> dict[str, str]:
    return {"event_id": event, "order_id": errand.channel_order_id or "", "status": status,
            "reason": ""}


def _post(raw: bytes, headers: dict[str, str]) -> int:
    client = TestClient(create_app())
    return client.post(ROUTE, content=raw,
                       headers={**headers, "Content-Type": "application/json"}).status_code


def _unchanged(db: Session, errand: Errand) -> bool:
    db.refresh(errand)
    return errand.state == "offered" and not db.scalar(select(func.count(ChannelEvent.id)))


def test_a_forged_signature_is_401_and_changes_nothing(db: Session, handed: Errand) -> None:
    raw, headers = channels.signed_callback(SIM, _body(handed))
    headers[channels.SIGNATURE_HEADER] = "0" * 64
    assert _post(raw, headers) == 401 and _unchanged(db, handed)


def test_a_body_changed_after_signing_is_401(db: Session, handed: Errand) -> None:
    raw, headers = channels.signed_callback(SIM, _body(handed, status="accepted"))
    assert _post(raw.replace(b"accepted", b"cancelled"), headers) == 401
    assert _unchanged(db, handed)


def test_a_signature_moved_to_another_timestamp_is_401(db: Session, handed: Errand) -> None:
    raw, headers = channels.signed_callback(SIM, _body(handed))
    headers[channels.TIMESTAMP_HEADER] = str(int(headers[channels.TIMESTAMP_HEADER]) + 1)
    assert _post(raw, headers) == 401 and _unchanged(db, handed)


def test_a_callback_signed_with_another_secret_is_401(db: Session, handed: Errand) -> None:
    timestamp = str(int(time.time()))
    body = _body(handed)
    headers = {channels.TIMESTAMP_HEADER: timestamp, channels.SIGNATURE_HEADER:
               channels.signature(secret=b"guessed", timestamp=timestamp, body=body)}
    assert _post(channels.canonical(body), headers) == 401 and _unchanged(db, handed)


def test_an_old_callback_replayed_later_is_401(db: Session, handed: Errand) -> None:
    raw, headers = channels.signed_callback(SIM, _body(handed), at=time.time() - 3600)
    assert _post(raw, headers) == 401 and _unchanged(db, handed)


def test_a_replayed_event_is_ignored(db: Session, handed: Errand) -> None:
    raw, headers = channels.signed_callback(SIM, _body(handed, status="accepted"))
    assert _post(raw, headers) == 200
    db.refresh(handed)
    accepted_at = handed.accepted_at
    assert _post(raw, headers) == 200
    db.refresh(handed)
    assert handed.accepted_at == accepted_at
    assert db.scalar(select(func.count(ChannelEvent.id))) == 1


def test_duplicate_keys_cannot_smuggle_a_second_status(db: Session, handed: Errand) -> None:
    signed = _body(handed, status="accepted")
    _, headers = channels.signed_callback(SIM, signed)
    raw = json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()
    raw = raw[:-1] + b',"status":"cancelled"}'
    assert _post(raw, headers) == 401 and _unchanged(db, handed)


@pytest.mark.parametrize("raw", [b"", b"[]", b"not json", b"\xff\xfe", b'{"a":1e999999}'])
def test_malformed_bodies_are_401(db: Session, handed: Errand, raw: bytes) -> None:
    timestamp = str(int(time.time()))
    headers = {channels.TIMESTAMP_HEADER: timestamp, channels.SIGNATURE_HEADER: "ab" * 32}
    assert _post(raw, headers) == 401 and _unchanged(db, handed)


@pytest.mark.parametrize("timestamp", ["", "-1", "1e9", " 1700000000", "9" * 30])
def test_malformed_timestamps_are_refused(db: Session, handed: Errand, timestamp: str) -> None:
    raw, headers = channels.signed_callback(SIM, _body(handed))
    headers[channels.TIMESTAMP_HEADER] = timestamp
    assert _post(raw, headers) in (401, 422) and _unchanged(db, handed)


def test_an_oversized_callback_is_refused_before_it_is_read(db: Session, handed: Errand) -> None:
    body = {**_body(handed), "reason": "x" * 40_000}
    raw, headers = channels.signed_callback(SIM, body)
    assert _post(raw, headers) == 413 and _unchanged(db, handed)


def test_a_signed_callback_naming_another_channels_order_is_404(db: Session,
                                                                handed: Errand) -> None:
    raw, headers = channels.signed_callback(SIM, {**_body(handed), "order_id": "MT-1"})
    assert _post(raw, headers) == 404 and _unchanged(db, handed)


def test_a_client_sending_bad_signatures_is_shut_out_for_the_minute(
        db: Session, handed: Errand, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_ERRAND_CHANNEL_FAILURES_PER_CLIENT", "3")
    from tongban.core.config import get_settings
    get_settings.cache_clear()
    client = TestClient(create_app())
    raw, headers = channels.signed_callback(SIM, _body(handed, status="accepted"))
    forged = {**headers, channels.SIGNATURE_HEADER: "ab" * 32,
              "Content-Type": "application/json"}
    assert [client.post(ROUTE, content=raw, headers=forged).status_code
            for _ in range(4)] == [401, 401, 401, 429]
    shut = client.post(ROUTE, content=raw, headers={**headers,
                                                    "Content-Type": "application/json"})
    assert shut.status_code == 429 and "Retry-After" in shut.headers
    assert _unchanged(db, handed)


def test_good_callbacks_do_not_count_against_the_limit(
        db: Session, handed: Errand, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_ERRAND_CHANNEL_FAILURES_PER_CLIENT", "1")
    from tongban.core.config import get_settings
    get_settings.cache_clear()
    for n, status in enumerate(("accepted", "picked_up")):
        raw, headers = channels.signed_callback(SIM, _body(handed, status=status, event=f"g{n}"))
        assert _post(raw, headers) == 200
