"""Personal data: phone numbers encrypted at rest, masks for display, masking inside free text."""

from __future__ import annotations

import base64
import hashlib
import re

from cryptography.fernet import Fernet, InvalidToken

from tongban.core.config import get_settings

_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ID_CARD = re.compile(r"(?<![0-9Xx])(\d{6})(\d{8})(\d{3}[0-9Xx])(?![0-9Xx])")


def _fernet() -> Fernet:
    key = hashlib.sha256(("tongban-pii:" + get_settings().secret_key).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def protect(value: str) -> str:
    """Encrypt a phone number (or other identifier) for storage."""
    return _fernet().encrypt(value.encode()).decode() if value else ""


def reveal(token: str) -> str:
    """Decrypt a protected value; empty when it cannot be read (e.g. the key changed)."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return ""


def mask_phone(phone: str) -> str:
    """138****0000; other lengths keep only the last four digits."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[7:]}"
    return f"****{digits[-4:]}" if digits else ""


def mask_text(text: str) -> str:
    """Mask phone and ID-card numbers inside free text (comments shown on pages)."""
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(3)}", text)
    return _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
