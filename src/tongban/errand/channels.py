"""Third-party 跑腿 channels (美团 / 饿了么 / 邮政): staff hand an errand to a channel, the
partner runs it, and its signed status callbacks move the errand through the same lifecycle
(``service.transition``), so the errand keeps its SLA, custody log and audit trail.

One interface for every partner (:class:`ChannelAdapter`: place an order, cancel it) and one
callback format, verified before anything is read from it:

- headers ``X-Tongban-Timestamp`` (Unix seconds) and ``X-Tongban-Signature`` (hex
  HMAC-SHA256 with the channel's secret over ``<timestamp>\\n<canonical body>``);
- the canonical body is the JSON object re-serialised with sorted keys, no spaces, UTF-8;
- a timestamp outside ``TONGBAN_ERRAND_CHANNEL_REPLAY_SECONDS`` of now is refused; the
  comparison is constant-time; a repeated ``event_id`` changes nothing (a replay), and so does
  a status the errand has already reached (a partner's retry under a new event id).

Which channels exist is a setting (``TONGBAN_ERRAND_CHANNELS``, with secrets in
``TONGBAN_ERRAND_CHANNEL_SECRETS``): by default only the simulated channel, and only outside
production. The simulated adapter stands in for a partner in the demo and the tests; the
partners' own order APIs are not connected yet, so configuring one of them is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tongban.core import ratelimit
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import AuthenticationFailed, DomainError, NotFound
from tongban.core.security import Actor
from tongban.errand import partners, service
from tongban.errand.enums import (
    CALLBACK_STEPS,
    TRANSITIONS,
    CallbackStatus,
    ErrandAction,
    ErrandState,
    Holder,
    PartnerChannel,
)
from tongban.errand.models import ChannelEvent, Errand
from tongban.errand.partners import configured, merchant_no

TIMESTAMP_HEADER = "X-Tongban-Timestamp"
SIGNATURE_HEADER = "X-Tongban-Signature"
#: The fields of a callback body, all strings (``reason`` may be empty).
CALLBACK_FIELDS = ("event_id", "order_id", "status", "reason")


def channel_of(code: str) -> PartnerChannel:
    """A configured channel by its code; any other code is the same 404."""
    for channel in configured():
        if channel.value == code:
            return channel
    raise NotFound("未找到该渠道")


def secret_of(channel: PartnerChannel) -> bytes:
    """The channel's callback secret: from the settings, or (outside production) derived
    from the secret key."""
    settings = get_settings()
    for pair in settings.errand_channel_secrets.split(","):
        code, _, secret = pair.strip().partition(":")
        if code == channel.value and secret:
            return secret.encode()
    if settings.is_production:
        raise DomainError(f"渠道「{channel.label}」未配置回调密钥")
    return hmac.new(settings.secret_key.encode(), f"errand-channel:{channel.value}".encode(),
                    hashlib.sha256).hexdigest().encode()


def canonical(body: dict[str, Any]) -> bytes:
    """The canonical form of a callback body: sorted keys, no spaces, UTF-8."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def signature(*, secret: bytes, timestamp: str, body: dict[str, Any]) -> str:
    """The hex HMAC-SHA256 of ``<timestamp>\\n<canonical body>``."""
    return hmac.new(secret, timestamp.encode() + b"\n" + canonical(body),
                    hashlib.sha256).hexdigest()


def signed_callback(channel: PartnerChannel, body: dict[str, Any], *,
                    at: float | None = None) -> tuple[bytes, dict[str, str]]:
    """A callback as the partner sends it: the body and its two headers (the demo's and the
    tests' partner)."""
    timestamp = str(int(time.time() if at is None else at))
    headers = {TIMESTAMP_HEADER: timestamp,
               SIGNATURE_HEADER: signature(secret=secret_of(channel), timestamp=timestamp,
                                           body=body)}
    return canonical(body), headers


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def verify(*, channel: PartnerChannel, timestamp: str, signature_hex: str, raw: bytes,
           now: float | None = None) -> dict[str, str]:
    """The callback body, once its timestamp is inside the replay window and its signature
    is the channel's; :class:`AuthenticationFailed` (401) otherwise, having read nothing."""
    refused = AuthenticationFailed("回调签名无效")
    if not (timestamp.isascii() and timestamp.isdecimal() and len(timestamp) <= 12):
        raise refused
    window = get_settings().errand_channel_replay_seconds
    if abs((time.time() if now is None else now) - int(timestamp)) > window:
        raise AuthenticationFailed("回调时间戳超出有效期")
    try:
        body = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, ValueError):
        raise refused from None
    if not isinstance(body, dict):
        raise refused
    expected = signature(secret=secret_of(channel), timestamp=timestamp, body=body)
    if not hmac.compare_digest(expected.encode(), signature_hex.strip().lower().encode()):
        raise refused
    if set(body) - set(CALLBACK_FIELDS) or not all(
            isinstance(body.get(key, ""), str) for key in CALLBACK_FIELDS):
        raise DomainError("回调内容须为 event_id、order_id、status、reason 四个文本字段")
    return {key: str(body.get(key, "")) for key in CALLBACK_FIELDS}


# ---------------------------------------------------------------- hand-over and cancel


def hand_to_channel(db: Session, *, actor: Actor, errand: Errand, code: str) -> Errand:
    """Staff hand an open errand to a channel: the step ``hand_to_channel`` (open → 已派单,
    audited) under our merchant order number, and the partner's order placed from the outbox
    once the step commits. Refused like any step in another state; a repeat for the same
    channel returns the errand as it is."""
    channel = channel_of(code)
    if errand.channel_code == channel.value:
        return errand
    service.require_action(db, actor=actor, errand=errand, action=ErrandAction.hand_to_channel)
    number = merchant_no(errand)
    service.transition(db, actor=actor, errand=errand, action=ErrandAction.hand_to_channel,
                       channel_order=(channel, number))
    partners.place_order(db, channel=channel, errand=errand)
    return errand


# ---------------------------------------------------------------- callbacks


@dataclass(frozen=True)
class CallbackOutcome:
    """What a verified callback did: ``applied`` (one step), ``unchanged`` (the errand was
    already there) or ``duplicate`` (the event was seen before)."""

    outcome: str
    errand_id: int
    state: str


def receive_callback(db: Session, *, code: str, timestamp: str, signature_hex: str,
                     raw: bytes, client: str = "", now: float | None = None) -> CallbackOutcome:
    """A channel's status callback: verified (401), its order found (404), then its step
    through ``service.transition`` as the channel (an illegal step is refused, 409, and
    nothing is stored, so the partner may retry once the errand is ready).

    Bad signatures are counted per client address (the count outlives the refusal, as failed
    logins do); over ``TONGBAN_ERRAND_CHANNEL_FAILURES_PER_CLIENT`` a minute, the address gets
    429 until the minute ends, whatever it sends."""
    channel = channel_of(code)
    window = timedelta(minutes=1)
    key = f"errand-channel:{channel.value}:{ratelimit.client_key(client or '-')}"
    seen_failures = ratelimit.count_hit(db, key=key, window=window, amount=0)
    if seen_failures.hits >= get_settings().errand_channel_failures_per_client:
        seconds = max(1, int((seen_failures.resets_at - utcnow()).total_seconds()) + 1)
        raise ratelimit.RateLimited(f"签名错误过多，请{seconds}秒后再试", retry_after=seconds)
    try:
        body = verify(channel=channel, timestamp=timestamp, signature_hex=signature_hex,
                      raw=raw, now=now)
    except AuthenticationFailed:
        ratelimit.count_hit(db, key=key, window=window)
        db.commit()  # the failure must outlive the refusal, or the limit would never see it
        raise
    event_id, order_id = body["event_id"].strip(), body["order_id"].strip()
    if not 1 <= len(event_id) <= 100 or not order_id:
        raise DomainError("回调须有 event_id 和 order_id")
    if body["status"] not in CallbackStatus.__members__:
        raise DomainError(f"未知的回调状态「{body['status'][:20]}」")
    status = CallbackStatus(body["status"])
    seen = db.scalar(select(ChannelEvent).where(ChannelEvent.channel_code == channel.value,
                                                ChannelEvent.event_id == event_id))
    if seen is not None:  # a replay: the errand as it is now (a declined one left the channel)
        known = db.get(Errand, seen.errand_id)
        assert known is not None
        return CallbackOutcome("duplicate", known.id, known.state)
    errand = db.scalar(select(Errand).where(Errand.channel_code == channel.value,
                                            Errand.channel_order_id == order_id))
    if errand is None:
        raise NotFound("未找到该渠道订单")
    outcome = _apply(db, channel=channel, errand=errand, status=status, reason=body["reason"])
    try:
        with db.begin_nested():
            db.add(ChannelEvent(channel_code=channel.value, event_id=event_id,
                                errand_id=errand.id, status=status.value, outcome=outcome))
    except IntegrityError:  # the same event, at the same moment, from another worker
        raise DomainError("该回调正在处理中，请稍后重试") from None
    return CallbackOutcome(outcome, errand.id, errand.state)


def _apply(db: Session, *, channel: PartnerChannel, errand: Errand, status: CallbackStatus,
           reason: str) -> str:
    actor = service.channel_actor(channel.value)
    step = CALLBACK_STEPS[status]
    if step is None:
        if service.holder(errand) is Holder.requester:
            return "unchanged"
        service.return_documents(db, actor=actor, errand=errand)
        return "applied"
    if ErrandState(errand.state) is TRANSITIONS[step][1]:
        return "unchanged"
    reason = reason or (f"{channel.label}：{status.label}"
                        if step in (ErrandAction.cancel, ErrandAction.fail) else "")
    service.transition(db, actor=actor, errand=errand, action=step, reason=reason)
    return "applied"
