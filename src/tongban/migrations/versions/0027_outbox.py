"""outbox: messages and partner calls that leave after their transaction commits

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-08 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tongban.core.db

revision: str = '0027'
down_revision: str | None = '0026'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'outbox_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=True),
        sa.Column('summary', sa.String(length=300), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', tongban.core.db.UTCDateTime(), nullable=False),
        sa.Column('lease_until', tongban.core.db.UTCDateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.Column('created_at', tongban.core.db.UTCDateTime(), nullable=False),
        sa.Column('sent_at', tongban.core.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message')),
        sa.UniqueConstraint('key', name=op.f('uq_outbox_message_key')),
    )
    op.create_index('ix_outbox_message_kind', 'outbox_message', ['kind'])
    op.create_index('ix_outbox_message_state', 'outbox_message', ['state'])


def downgrade() -> None:
    op.drop_index('ix_outbox_message_state', table_name='outbox_message')
    op.drop_index('ix_outbox_message_kind', table_name='outbox_message')
    op.drop_table('outbox_message')
