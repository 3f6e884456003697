"""Personal data: phone numbers encrypted at rest, masks for display, masking inside free text."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from tongban.core.config import get_settings
from tongban.core.errors import DomainError

_DIGITS = "0-9\uff10-\uff19"
#: What people put between the digits of one number: white space, hyphens and dashes, dots,
#: slashes and brackets (half or full width), up to three in a row.
_SEPARATORS = " \t\r\n\u00a0\u3000\\-\u2010-\u2015\uff0d.\uff0e/\uff0f()\uff08\uff09"
#: A run of digits with separators between them, and an ID card's final X.
_NUMBER_RUN = re.compile(
    f"(?<![{_DIGITS}])[{_DIGITS}](?:[{_SEPARATORS}]{{0,3}}[{_DIGITS}])*(?:[Xx\uff38\uff58])?")
_ID_TAIL = "0123456789Xx\uff38\uff58"


class UndecryptableData(DomainError):
    """Stored personal data that none of the configured data keys opens."""

    status_code = 500


class InvalidDataKeys(DomainError):
    """``TONGBAN_DATA_KEYS`` holds something that is not a key."""

    status_code = 500


def data_keys() -> list[bytes]:
    """The data-encryption keys, newest first: ``TONGBAN_DATA_KEYS`` (Fernet keys, comma
    separated). Without it (development) one key derived from the secret key, as before keys
    were set apart; it is also kept last for reading so that ``tongban keys rotate`` can move
    data written before ``TONGBAN_DATA_KEYS`` was set."""
    settings = get_settings()
    legacy = base64.urlsafe_b64encode(
        hashlib.sha256(("tongban-pii:" + settings.secret_key).encode()).digest())
    configured = [k.strip().encode() for k in settings.data_keys.split(",") if k.strip()]
    return [*configured, legacy] if configured else [legacy]


def _fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in data_keys()])
    except ValueError as exc:  # not a Fernet key (32 bytes, URL-safe base64)
        raise InvalidDataKeys("TONGBAN_DATA_KEYS 中有无效的密钥（请用 tongban keys generate 生成）") from exc


def new_data_key() -> str:
    """A fresh data-encryption key to put first in ``TONGBAN_DATA_KEYS``."""
    return Fernet.generate_key().decode()


def protect(value: str) -> str:
    """Encrypt a phone number (or other identifier) for storage, with the newest key."""
    return _fernet().encrypt(value.encode()).decode() if value else ""


def reveal(token: str) -> str:
    """Decrypt a protected value; raises :class:`UndecryptableData` when no key opens it (a
    wrong or missing ``TONGBAN_DATA_KEYS``): personal data never silently turns empty."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableData(
            "已存的个人信息无法解密：TONGBAN_DATA_KEYS 中没有加密它的密钥（密钥被更换或遗漏）。"
            "请恢复原密钥（新密钥放在最前，旧密钥保留在后），再运行 tongban keys rotate") from None


def rotate(token: str) -> str:
    """The same value encrypted again with the newest key (raises like :func:`reveal`)."""
    if not token:
        return ""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableData("已存的个人信息无法解密，无法换用新密钥") from None


def readable(token: str) -> bool:
    """Whether a configured key opens ``token``."""
    try:
        reveal(token)
    except UndecryptableData:
        return False
    return True


#: "尾号 1234", "尾号:1234", or just 1234: a search for the last four digits of a phone.
_SUFFIX_QUERY = re.compile(r"(?:尾号[\s:：]*)?([0-9]{4})")


def _suffix_hash(key: bytes, digits: str) -> str:
    # A key of its own per data key: the Fernet key itself never touches another algorithm.
    own = hashlib.sha256(b"tongban-phone-suffix:" + key).digest()
    return hmac.new(own, digits.encode(), hashlib.sha256).hexdigest()[:32]


def phone_suffix_key(phone: str) -> str:
    """The stored search key of a phone's last four digits: a keyed hash (HMAC-SHA256) under
    the newest data key, so the database never holds a lookup of four digits that works
    without the keys. Empty for a number of fewer than four digits."""
    digits = re.sub(r"\D", "", phone)
    return _suffix_hash(data_keys()[0], digits[-4:]) if len(digits) >= 4 else ""


def phone_suffix_keys(query: str) -> list[str]:
    """The search keys a query for a phone suffix ("尾号 1234" or "1234") matches, under every
    configured data key (rows not yet moved by ``tongban keys rotate`` still match); empty
    when the query is not one."""
    found = _SUFFIX_QUERY.fullmatch(query.strip())
    return [_suffix_hash(key, found.group(1)) for key in data_keys()] if found else []


def rater_key(certificate: str) -> str:
    """The stored key of a rater's certificate number (a 好差评 exchange record's certkeyGOV: an
    ID card or credit code), never the number: a keyed hash (HMAC-SHA256) under the newest
    data key of the number without spaces, upper-cased, so one rater's ratings share it.
    ``tongban keys rotate`` cannot re-key it (the number is not kept): repeat raters are seen
    among the ratings imported under one data key. Empty for an empty number."""
    text = re.sub(r"\s", "", unicodedata.normalize("NFKC", certificate)).upper()
    if not text:
        return ""
    own = hashlib.sha256(b"tongban-rater:" + data_keys()[0]).digest()
    return hmac.new(own, text.encode(), hashlib.sha256).hexdigest()[:32]


def mask_phone(phone: str) -> str:
    """138****0000; other lengths keep only the last four digits."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[7:]}"
    return f"****{digits[-4:]}" if digits else ""


def _digits(run: str) -> list[str]:
    """The digit characters of a run, as typed (full width kept), and a final X."""
    return [ch for ch in run if ch.isdecimal() or ch in "Xx\uff38\uff58"]


def _value(chars: list[str]) -> str:
    return "".join(str(unicodedata.digit(ch)) if ch.isdecimal() else "X" for ch in chars)


def _masked_piece(chars: list[str]) -> str | None:
    """One personal number, masked, or None when these characters are not one: a mobile
    number (11 digits, 1[3-9]…, optionally after 86) or an ID card (18 with a final digit or
    X, or the old 15 digits)."""
    value = _value(chars)
    if len(value) == 13 and value.startswith("86") and re.fullmatch(r"1[3-9]\d{9}", value[2:]):
        return "".join(chars[:2]) + " " + "".join(chars[2:5]) + "****" + "".join(chars[-4:])
    if re.fullmatch(r"1[3-9]\d{9}", value):
        return "".join(chars[:3]) + "****" + "".join(chars[-4:])
    if re.fullmatch(r"\d{17}[\dX]", value) and _born(value[6:14]):
        return "".join(chars[:6]) + "********" + "".join(chars[-4:])
    if re.fullmatch(r"\d{15}", value) and _born("19" + value[6:12]):
        return "".join(chars[:6]) + "******" + "".join(chars[-3:])
    return None


def _born(day: str) -> bool:
    """Whether YYYYMMDD could be a birth date on an ID card (what tells an ID from an order
    number of the same length)."""
    year, month, date_ = int(day[:4]), int(day[4:6]), int(day[6:])
    return 1900 <= year <= 2099 and 1 <= month <= 12 and 1 <= date_ <= 31


def _mask_run(run: str) -> str:
    """A run of digits masked when it is one personal number or several run together."""
    chars = _digits(run)
    whole = _masked_piece(chars)
    if whole is not None:
        return whole
    pieces: list[str] = []
    rest = chars
    while rest:  # numbers written one after another: 13800002222 13900003333
        for size in (18, 15, 13, 11):
            piece = _masked_piece(rest[:size]) if len(rest) >= size else None
            if piece is not None:
                pieces.append(piece)
                rest = rest[size:]
                break
        else:
            if _value(rest) == "X":  # a phone number followed by a stray x
                pieces[-1] += rest[0]
                break
            return run  # not (only) personal numbers: an order number, a date, an amount
    return " ".join(pieces)


def mask_text(text: str) -> str:
    """Mask mobile and ID-card numbers inside free text, however they are written (grouped,
    hyphenated, dotted, bracketed, spaced out, full-width, run together). The one function
    every output of free text goes through: pages (the ``pii`` filter), the API, reports and
    exports. Only the contact-number field itself is shown in full, and only to whoever needs
    it (see ``reviews.service.phone_for``)."""
    if not text:
        return text
    return _NUMBER_RUN.sub(lambda m: _mask_run(m.group(0)), text)


def mask_data(value: Any) -> Any:
    """``value`` with :func:`mask_text` applied to every string inside it (JSON-like data,
    such as an audit entry's changes)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_data(v) for v in value]
    return value
