"""A rater's phone proved by an SMS code, where SMS is configured: sending a code (limited per
phone and per client address) and checking it (a code expires and dies after too many wrong
tries). Phones and codes are kept only as keyed hashes.

Bookkeeping, not audited (like login attempts): the rating the phone is attached to is the
record, and it is not audited either (see docs/development.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tongban.core import notify, privacy, ratelimit
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import DomainError, RowError, ValidationFailed
from tongban.reviews.models import PhoneCode

#: A mainland mobile number, the only kind a code can be texted to.
_MOBILE = re.compile(r"1[3-9]\d{9}")


def _digest(kind: str, value: str) -> str:
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def normalized(phone: str) -> str:
    """The phone as its digits (spaces and hyphens dropped)."""
    return re.sub(r"[\s-]", "", phone)


def _refuse(reason: str) -> ValidationFailed:
    return ValidationFailed(errors=[RowError(1, "phone_code", reason)], summary=reason)


def send_phone_code(db: Session, *, phone: str, client: str) -> str:
    """Text a fresh 6-digit code to ``phone`` (it leaves after commit, through the outbox);
    the phone's mask. Earlier codes of the phone die. At most
    ``review_phone_codes_per_phone`` codes a phone and ``review_phone_codes_per_client`` a
    client address an hour."""
    settings = get_settings()
    if not notify.sms_ready():
        raise DomainError("本平台未开通短信验证，无需验证码")
    number = normalized(phone)
    if not _MOBILE.fullmatch(number):
        raise _refuse("请填写11位手机号码，验证码只能发到手机")
    key = _digest("phone", number)
    hour = timedelta(hours=1)
    for limit_key, limit in ((f"code-phone:{key[:32]}", settings.review_phone_codes_per_phone),
                             (f"code-client:{ratelimit.client_key(client)}",
                              settings.review_phone_codes_per_client)):
        hit = ratelimit.count_hit(db, key=limit_key, window=hour)
        if hit.over(limit):
            minutes = max(1, int((hit.resets_at - utcnow()).total_seconds() // 60) + 1)
            raise ratelimit.RateLimited(f"获取验证码过于频繁，请{minutes}分钟后再试",
                                        retry_after=minutes * 60)
    now = utcnow()
    for earlier in db.scalars(select(PhoneCode).where(PhoneCode.phone_key == key,
                                                      PhoneCode.used_at.is_(None),
                                                      PhoneCode.expires_at > now)):
        earlier.expires_at = now
    code = f"{secrets.randbelow(1_000_000):06d}"
    db.add(PhoneCode(phone_key=key, code_hash=_digest(f"code:{key}", code),
                     expires_at=now + timedelta(minutes=settings.review_phone_code_minutes)))
    db.flush()
    notify.text_phone(db, phone=number, text=f"您的政务服务评价验证码为{code}，"
                                             f"{settings.review_phone_code_minutes}分钟内有效。"
                                             "如非本人操作，请忽略。")
    return privacy.mask_phone(number)


def check_phone_code(db: Session, *, phone: str, code: str) -> None:
    """Accept the code last sent to ``phone`` (once), or refuse. A wrong code counts against
    the code even though the rating is refused: the count is committed before refusing."""
    settings = get_settings()
    key = _digest("phone", normalized(phone))
    now = utcnow()
    sent = db.scalar(select(PhoneCode).where(PhoneCode.phone_key == key,
                                             PhoneCode.used_at.is_(None))
                     .order_by(PhoneCode.id.desc()).limit(1))
    if sent is None or sent.expires_at <= now:
        raise _refuse("请先获取短信验证码" if sent is None
                      else "验证码已过期，请重新获取")
    if sent.attempts >= settings.review_phone_code_attempts:
        raise _refuse("验证码错误次数过多，请重新获取")
    given = re.sub(r"\s", "", code)
    if not hmac.compare_digest(sent.code_hash, _digest(f"code:{key}", given)):
        sent.attempts += 1
        db.commit()  # the wrong try must outlive the refusal, or guessing would never stop
        left = settings.review_phone_code_attempts - sent.attempts
        raise _refuse(f"验证码不正确，还可再试{left}次" if left else "验证码错误次数过多，请重新获取")
    sent.used_at = now
    db.flush()


def remove_old_phone_codes(db: Session) -> int:
    """Forget codes that expired over a day ago (bookkeeping: the hourly limits live in the
    rate counters, not here)."""
    gone = db.execute(delete(PhoneCode).where(
        PhoneCode.expires_at < utcnow() - timedelta(days=1)))
    return int(getattr(gone, "rowcount", 0) or 0)
