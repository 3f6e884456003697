"""Tracking links of ratings: their unguessable tokens (kept only as keyed hashes), finding a
rating by its link, and texting a rater the link once the unit has replied."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core import notify, privacy
from tongban.core.config import get_settings
from tongban.reviews.models import NegativeCase, Review, ReviewTracking
from tongban.reviews.service.checks import PUBLIC_SOURCE

#: What a token looks like (``secrets.token_urlsafe(24)``); anything else is not looked up.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


def _token_hash(token: str) -> str:
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, b"track:" + token.encode(), hashlib.sha256).hexdigest()


def issue_link(db: Session, *, review_id: int, channel: str = "page",
               phone_checked: bool = False) -> str:
    """A fresh tracking token for a rating (shown once; only its hash is stored)."""
    token = secrets.token_urlsafe(24)
    db.add(ReviewTracking(review_id=review_id, token_hash=_token_hash(token), channel=channel,
                          phone_checked=phone_checked))
    db.flush()
    return token


def find_link(db: Session, *, token: str) -> ReviewTracking | None:
    """The tracking link of ``token``, or None (a malformed token is not even looked up)."""
    if not _TOKEN.fullmatch(token):
        return None
    return db.scalar(select(ReviewTracking).where(ReviewTracking.token_hash == _token_hash(token)))


def track_path(token: str) -> str:
    return f"/track/{token}"


def text_outcome(db: Session, *, case_: NegativeCase) -> bool:
    """Text a rater who left a phone on the rating page that the unit has replied, with a
    link to read the reply and answer 满意/不满意 (only where SMS is configured; it leaves
    after commit); whether a message was queued."""
    review: Review = case_.review
    if not notify.sms_ready() or review.source != PUBLIC_SOURCE or not review.phone_cipher:
        return False
    phone = privacy.reveal(review.phone_cipher)
    token = issue_link(db, review_id=review.id, channel="sms")
    url = get_settings().public_url.rstrip("/") + track_path(token)
    return notify.text_phone(db, phone=phone, text=f"您对{case_.org.name}的差评已有整改反馈，"
                                                   f"请查看并告诉我们您是否满意：{url}")
