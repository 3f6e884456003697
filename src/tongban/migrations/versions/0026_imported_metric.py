"""imported_metric: data items declared by the files and schemes that bring them

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tongban.core.db

revision: str = '0026'
down_revision: str | None = '0025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'imported_metric',
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('unit', sa.String(length=16), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.Column('declared_at', tongban.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_imported_metric')),
    )
    # Every metric already stored that no feeder declares was brought by a file: declared so.
    op.execute(
        "INSERT INTO imported_metric (code, name, unit, source, declared_at) "
        "SELECT metric, metric, '', min(source), min(updated_at) FROM metric_value "
        "WHERE source NOT IN ('reviews', 'rectification', 'errand', 'benchmark') "
        "GROUP BY metric")


def downgrade() -> None:
    op.drop_table('imported_metric')
