"""Health of the installation: database reachability and schema revision."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from tongban.core.db import head_revision


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
