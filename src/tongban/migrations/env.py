"""Alembic environment: the URL comes from Settings, the metadata from every domain's models."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tongban.core.db import Base, get_engine
from tongban.models_registry import import_all_models

import_all_models()
target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    with get_engine().connect() as conn:
        run_migrations(conn)
        conn.commit()
