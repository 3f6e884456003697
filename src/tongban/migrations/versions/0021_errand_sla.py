"""errand_sla: each errand's SLA due time, computed at submission

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tongban.core.db

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('errand') as batch:
        batch.add_column(sa.Column('due_at', tongban.core.db.UTCDateTime(), nullable=True))
        batch.create_index('ix_errand_due_at', ['due_at'])


def downgrade() -> None:
    with op.batch_alter_table('errand') as batch:
        batch.drop_index('ix_errand_due_at')
        batch.drop_column('due_at')
