"""Who may use 好差评: every role but the runner."""

from __future__ import annotations

from tongban.core.security import Actor
from tongban.org import service as org_service
from tongban.org.enums import Area


def require_reviews_role(actor: Actor) -> None:
    """Runners run errands; 好差评 is the business of the other roles."""
    org_service.require_area(actor, Area.reviews)
