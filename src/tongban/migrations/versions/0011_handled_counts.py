"""handled_count: the monthly cases handled per org, kept by reviews (the denominator of 主动评价率)

Values imported before this revision were metric values ``cases_handled``; they are copied.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 10:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tongban.core.db

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'handled_count',
        sa.Column('period', sa.String(length=7), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('cases', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.Column('updated_at', tongban.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['org.id'], name=op.f('fk_handled_count_org_id_org')),
        sa.PrimaryKeyConstraint('period', 'org_id', name=op.f('pk_handled_count')),
    )
    op.execute(
        "INSERT INTO handled_count (period, org_id, cases, source, updated_at) "
        "SELECT period, org_id, CAST(value AS INTEGER), source, updated_at FROM metric_value "
        "WHERE metric = 'cases_handled'"
    )


def downgrade() -> None:
    op.drop_table('handled_count')
