"""Choices: enums whose members carry their value, the Chinese label users see and a colour.

A member is written ``name = value, label`` or ``name = value, label, colour`` (as NetBox's
choices are), so a state, its label and its colour are read in one line::

    class Grade(Choice):
        good = "good", "好"

``Grade("good")`` still looks a member up by its value; ``colour`` is empty unless given.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Self


class Choice(StrEnum):
    """A StrEnum whose members carry a label and a colour."""

    label: str
    colour: str

    def __new__(cls, value: str, label: str = "", colour: str = "") -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        _describe(member, label, colour)
        return member


class IntChoice(IntEnum):
    """An IntEnum whose members carry a label and a colour (levels 1–5)."""

    label: str
    colour: str

    def __new__(cls, value: int, label: str = "", colour: str = "") -> Self:
        member = int.__new__(cls, value)
        member._value_ = value
        _describe(member, label, colour)
        return member


def _describe(member: Choice | IntChoice, label: str, colour: str) -> None:
    if not label:
        raise TypeError(f"{type(member).__name__} member {member._value_!r} has no label")
    member.label, member.colour = label, colour
