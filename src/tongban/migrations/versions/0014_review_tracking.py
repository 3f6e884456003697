"""review_tracking, phone_code, negative_case.follow_up_by: the citizen gets the reply

A rater's tracking links (keyed hashes of their tokens), the SMS codes that prove a rater's
phone (keyed hashes), and whose word a case's follow-up is (the citizen's on the tracking page,
or a staff member's callback note).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tongban.core.db

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'phone_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('phone_key', sa.String(length=64), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('expires_at', tongban.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('used_at', tongban.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', tongban.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_phone_code')),
    )
    op.create_index(op.f('ix_phone_code_phone_key'), 'phone_code', ['phone_key'])
    op.create_table(
        'review_tracking',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('review_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('phone_checked', sa.Boolean(), nullable=False),
        sa.Column('created_at', tongban.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['review_id'], ['review.id'],
                                name=op.f('fk_review_tracking_review_id_review')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_review_tracking')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_review_tracking_token_hash')),
    )
    op.create_index(op.f('ix_review_tracking_review_id'), 'review_tracking', ['review_id'])
    with op.batch_alter_table('negative_case') as batch_op:
        batch_op.add_column(sa.Column('follow_up_by', sa.String(length=16), server_default='',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('negative_case') as batch_op:
        batch_op.drop_column('follow_up_by')
    op.drop_index(op.f('ix_review_tracking_review_id'), table_name='review_tracking')
    op.drop_table('review_tracking')
    op.drop_index(op.f('ix_phone_code_phone_key'), table_name='phone_code')
    op.drop_table('phone_code')
