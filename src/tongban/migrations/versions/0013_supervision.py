"""supervision_note (催办/批示) and each user's notification channels

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tongban.core.db

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'supervision_note',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('object_type', sa.String(length=64), nullable=False),
        sa.Column('object_id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('author_name', sa.String(length=100), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', tongban.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['org.id'],
                                name=op.f('fk_supervision_note_org_id_org')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_note')),
    )
    with op.batch_alter_table('supervision_note', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_note_object', ['object_type', 'object_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_note_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_note_created_at'), ['created_at'],
                              unique=False)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=200), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('wecom_id', sa.String(length=64), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('dingtalk_id', sa.String(length=64), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('channels', sa.String(length=100), server_default='*',
                                      nullable=False))
        batch_op.add_column(sa.Column('daily_digest', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        for column in ('daily_digest', 'channels', 'dingtalk_id', 'wecom_id', 'email'):
            batch_op.drop_column(column)
    op.drop_table('supervision_note')
