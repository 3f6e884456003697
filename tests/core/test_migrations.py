"""The migrations build exactly the schema the models declare (a model changed without its
migration fails here)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tongban.core import db as core_db
from tongban.models_registry import import_all_models


def test_migrations_match_the_models(tmp_path: Path) -> None:
    import_all_models()
    engine = core_db.make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    core_db.upgrade_schema(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"render_as_batch": True})
        assert compare_metadata(context, core_db.Base.metadata) == []
    engine.dispose()
