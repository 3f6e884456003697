"""Who stands outside the staff (the public requester, a third-party channel), and the refusals
of a grab."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy.orm import Session

from tongban.core import ratelimit
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import (
    Conflict,
    PermissionDenied,
)
from tongban.core.security import Actor, Outsider, Role
from tongban.errand.enums import (
    PartnerChannel,
)
from tongban.errand.models import (
    Errand,
)

#: Who submits on the public page or follows a tracking link (audited under this name).
REQUESTER = Outsider(username="requester", display_name="代办申请人")


def channel_actor(code: str) -> Outsider:
    """The actor of a third-party channel's verified callbacks (audited under this name)."""
    return Outsider(username=f"channel:{code}", display_name=PartnerChannel(code).label)


def _is_channel(actor: Actor | Outsider, errand: Errand) -> bool:
    """Whether ``actor`` is the channel the errand was handed to (its verified callback)."""
    return isinstance(actor, Outsider) and errand.channel_code is not None \
        and actor.username == f"channel:{errand.channel_code}"


#: A pickup point farther than this from every zone's seat is outside the city's service.
MAX_ZONE_KM = 100.0
#: At most this many errands in a runner's pool (nearest first).
POOL_LIMIT = 50
_PHONE = re.compile(r"[0-9]{7,15}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


class Taken(Conflict):
    """Another runner won the errand: nothing changed (已被抢)."""

    def __init__(self, errand_id: int) -> None:
        super().__init__(f"代办 #{errand_id} 已被抢")


class NotEligible(PermissionDenied):
    """The runner may not take this errand (duty, capacity, qualification, distance, state)."""


#: Who the live dispatcher's offers are audited under.
DISPATCHER = Actor(user_id=None, username="dispatcher", role=Role.admin, display_name="智能派单")


def clean_text(text: str, limit: int) -> str:
    return " ".join(str(text).split())[:limit]


def limit_client(db: Session, client: str) -> None:
    """One hit on the public pages' per-minute limit of a client address; 429 over it."""
    hit = ratelimit.count_hit(db, key=f"errand-client:{ratelimit.client_key(client)}",
                              window=timedelta(minutes=1))
    if hit.over(get_settings().errand_rate_per_client):
        seconds = max(1, int((hit.resets_at - utcnow()).total_seconds()) + 1)
        raise ratelimit.RateLimited(f"提交过于频繁，请{seconds}秒后再试", retry_after=seconds)
