"""review: a partial index on (client_key, created_at) of public ratings, for the repeat check

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 08:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.create_index('ix_review_client_key', ['client_key', 'created_at'], unique=False,
                              sqlite_where=sa.text("client_key != ''"),
                              postgresql_where=sa.text("client_key != ''"))


def downgrade() -> None:
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_index('ix_review_client_key')
