"""The unified social credit code (统一社会信用代码) of GB 32100-2015: 18 characters, the last a
check character over the first 17."""

from __future__ import annotations

#: The code's alphabet: digits and capitals without I, O, Z, S, V; a character's value is its
#: place here.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    """The check character of the code's first 17 characters (raises ValueError on a
    character outside the alphabet)."""
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_credit_code(text: str) -> bool:
    """Whether ``text`` is a well-formed unified social credit code with a right check
    character (upper case, as issued)."""
    if len(text) != 18 or any(ch not in ALPHABET for ch in text):
        return False
    return check_character(text[:17]) == text[17]
