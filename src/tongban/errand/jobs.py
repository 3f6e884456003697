"""Periodic work of 跑团代办 (from ``tongban jobs run``): offers that timed out go back to the
open pool. The live dispatcher cycle and SLA escalation come with the dispatcher process."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.orm import Session

from tongban.core.security import SYSTEM_ACTOR
from tongban.errand import service


@dataclass
class ErrandJobs:
    offers_expired: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run(db: Session) -> ErrandJobs:
    """Run the errand jobs once (idempotent: a second run finds nothing to do)."""
    return ErrandJobs(offers_expired=service.expire_offers(db, actor=SYSTEM_ACTOR))
