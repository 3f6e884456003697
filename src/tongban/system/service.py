"""Health of the installation: database reachability and schema revision; the outbox's
deliveries an administrator watches (what failed, to send again)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from tongban.core import audit, outbox
from tongban.core.db import head_revision
from tongban.core.listing import ListParams, Page
from tongban.core.outbox import OutboxMessage
from tongban.core.security import Actor
from tongban.org import service as org_service
from tongban.org.enums import Area


@dataclass(frozen=True)
class Health:
    database: bool
    revision: str | None
    head: str | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.database and self.revision is not None and self.revision == self.head


def check_health(db: Session) -> Health:
    """Whether the database answers, and whether its schema is at this code's head revision."""
    head = head_revision()
    try:
        revision = db.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:  # any driver error means "not healthy", reported as text
        db.rollback()
        try:
            db.execute(text("SELECT 1"))
        except Exception:
            return Health(database=False, revision=None, head=head, error=type(exc).__name__)
        return Health(database=True, revision=None, head=head, error="schema not migrated")
    if revision != head:
        return Health(database=True, revision=revision, head=head,
                      error="schema behind: run tongban db upgrade")
    return Health(database=True, revision=revision, head=head)


@dataclass(frozen=True)
class OutboxView:
    """The outbox as an administrator sees it: counts by state and a page of messages."""

    counts: dict[str, int]
    page: Page[OutboxMessage]
    state: str


def outbox_view(db: Session, *, actor: Actor, state: str, params: ListParams) -> OutboxView:
    """The messages in ``state`` (failed by default), newest first."""
    org_service.require_area(actor, Area.outbox)
    chosen = state if state in outbox.STATE_LABELS else outbox.FAILED
    return OutboxView(outbox.counts(db), outbox.messages(db, states={chosen}, params=params),
                      chosen)


audit.name_objects({"outbox_message": "待发消息"})


@audit.action({"outbox.resent": "重新发送消息"})
def send_outbox_again(db: Session, *, actor: Actor, message_id: int) -> OutboxMessage:
    """Send a failed message again (its attempts start over), audited."""
    org_service.require_area(actor, Area.outbox)
    message = outbox.send_again(db, message_id=message_id)
    audit.record(db, actor=actor, action="outbox.resent", object_type="outbox_message",
                 object_id=message.id, changes={"kind": message.kind, "state": ["failed",
                                                                                 "pending"]})
    return message
