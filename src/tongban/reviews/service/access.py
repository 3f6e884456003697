"""Who may use 好差评: every role but the runner."""

from __future__ import annotations

from tongban.core.errors import PermissionDenied
from tongban.core.security import Actor, Role


def require_reviews_role(actor: Actor) -> None:
    """Runners run errands; 好差评 is the business of the other roles."""
    if actor.role is Role.runner:
        raise PermissionDenied("跑手不能使用好差评功能")
