"""Personal data: phone numbers encrypted at rest, masks for display, masking inside free text."""

from __future__ import annotations

import base64
import hashlib
import re

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from tongban.core.config import get_settings
from tongban.core.errors import DomainError

#: A digit as people type it: ASCII or full width (０–９).
_D = "[0-9\uff10-\uff19]"
#: What may stand between groups of digits: a space, a hyphen or a dash, half or full width.
_SEP = "[ \u3000\\-\uff0d\u2010-\u2015]?"
_NOT_DIGIT_BEFORE = "(?<![0-9\uff10-\uff19])"
_NOT_DIGIT_AFTER = "(?![0-9\uff10-\uff19Xx\uff38\uff58])"
#: A mobile number: 138 0000 2222, 138-0000-2222, +86 13800002222, in full-width digits too.
_PHONE = re.compile(
    f"{_NOT_DIGIT_BEFORE}((?:\\+?86{_SEP})?[1\uff11][3-9\uff13-\uff19]{_D}){_SEP}({_D}{{4}}){_SEP}({_D}{{4}})"
    f"{_NOT_DIGIT_AFTER}")
#: A resident ID: 18 characters (6 + 8 + 3 + check digit or X) or the old 15 digits, grouped or not.
_ID_CARD = re.compile(
    f"{_NOT_DIGIT_BEFORE}({_D}{{6}}){_SEP}({_D}{{8}}){_SEP}({_D}{{3}}[0-9\uff10-\uff19Xx\uff38\uff58])"
    f"{_NOT_DIGIT_AFTER}"
    f"|{_NOT_DIGIT_BEFORE}({_D}{{6}}){_SEP}({_D}{{6}}){_SEP}({_D}{{3}}){_NOT_DIGIT_AFTER}")


class UndecryptableData(DomainError):
    """Stored personal data that none of the configured data keys opens."""

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
    return MultiFernet([Fernet(key) for key in data_keys()])


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


def mask_phone(phone: str) -> str:
    """138****0000; other lengths keep only the last four digits."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[7:]}"
    return f"****{digits[-4:]}" if digits else ""


def mask_text(text: str) -> str:
    """Mask mobile and ID-card numbers inside free text, however they are written (grouped,
    hyphenated, full-width). The one function every output of free text goes through: pages
    (the ``pii`` filter), the API, reports and exports. Only the contact-number field itself is
    shown in full, and only to whoever needs it (see ``reviews.service.phone_for``)."""
    if not text:
        return text

    def id_card(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return f"{m.group(1)}********{m.group(3)[-4:]}"
        return f"{m.group(4)}******{m.group(6)}"

    text = _ID_CARD.sub(id_card, text)
    return _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
