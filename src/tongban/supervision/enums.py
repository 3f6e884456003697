"""Kinds of supervision, with their Chinese labels."""

from __future__ import annotations

from tongban.core.choices import Choice


class SupervisionKind(Choice):
    urge = "urge", "催办"
    instruction = "instruction", "批示"
