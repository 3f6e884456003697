"""Choices: every enum member carries its value, its Chinese label and a colour."""

from __future__ import annotations

from enum import Enum

import pytest

from tongban.assessment import enums as assessment_enums
from tongban.core.choices import Choice, IntChoice
from tongban.core.security import Role
from tongban.core.workdays import DayKind
from tongban.org import enums as org_enums
from tongban.rectification import enums as rectification_enums
from tongban.reports import enums as report_enums
from tongban.reviews import enums as review_enums
from tongban.reviews.enums import Level


class Light(Choice):
    red = "red", "红灯", "#c0392b"
    green = "green", "绿灯"


def test_a_member_is_its_value_and_carries_its_label_and_colour() -> None:
    assert Light.red == "red" and str(Light.red) == "red"
    assert (Light.red.label, Light.red.colour) == ("红灯", "#c0392b")


def test_a_member_without_a_colour_has_none() -> None:
    assert Light.green.colour == ""


def test_members_are_still_looked_up_by_value() -> None:
    assert Light("green") is Light.green
    with pytest.raises(ValueError):
        Light("红灯")


def test_a_member_without_a_label_is_refused_when_the_enum_is_defined() -> None:
    with pytest.raises(TypeError, match="has no label"):
        class Bare(Choice):
            only = "only"


def test_an_integer_choice_compares_as_its_number() -> None:
    assert Level(5) is Level.very_satisfied and Level.very_satisfied == 5
    assert (Level.very_satisfied.label, Level.very_satisfied.colour) == ("非常满意", "#1e8449")


def _enums() -> list[type[Enum]]:
    found: list[type[Enum]] = [Role, DayKind]
    for module in (assessment_enums, org_enums, rectification_enums, report_enums, review_enums):
        found += [v for v in vars(module).values()
                  if isinstance(v, type) and issubclass(v, Enum) and v.__module__ == module.__name__]
    return found


@pytest.mark.parametrize("enum", _enums(), ids=lambda e: e.__name__)
def test_every_enum_of_the_domains_is_a_choice_with_chinese_labels(enum: type[Enum]) -> None:
    assert issubclass(enum, Choice | IntChoice)
    assert all(member.label for member in enum)
