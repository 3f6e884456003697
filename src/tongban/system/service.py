"""Health of the installation: database reachability and schema revision."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Health:
    database: bool
    revision: str | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.database and self.revision is not None


def check_health(db: Session) -> Health:
    """Whether the database answers, and which Alembic revision it is at."""
    try:
        revision = db.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:  # any driver error means "not healthy", reported as text
        db.rollback()
        try:
            db.execute(text("SELECT 1"))
        except Exception:
            return Health(database=False, revision=None, error=type(exc).__name__)
        return Health(database=True, revision=None, error="schema not migrated")
    return Health(database=True, revision=revision)
