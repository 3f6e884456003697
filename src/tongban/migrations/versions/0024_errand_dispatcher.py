"""errand_dispatcher: zone modes, dispatch cycles, grab-pool time and pickup distance of errands, offers

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tongban.core.db

revision: str = '0024'
down_revision: str | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('errand_zone') as batch:
        batch.add_column(sa.Column('mode', sa.String(length=8), nullable=True))
    with op.batch_alter_table('errand') as batch:
        batch.add_column(sa.Column('dispatch_cycles', sa.Integer(), server_default='0',
                                   nullable=False))
        batch.add_column(sa.Column('pooled_at', tongban.core.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('pickup_km', sa.Float(), nullable=True))
    op.create_table(
        'errand_offer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('errand_id', sa.Integer(), nullable=False),
        sa.Column('runner_id', sa.Integer(), nullable=False),
        sa.Column('offered_at', tongban.core.db.UTCDateTime(), nullable=False),
        sa.Column('by_dispatcher', sa.Boolean(), nullable=False),
        sa.Column('distance_km', sa.Float(), nullable=True),
        sa.Column('cost', sa.Float(), nullable=True),
        sa.Column('outcome', sa.String(length=12), nullable=False),
        sa.Column('closed_at', tongban.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['errand_id'], ['errand.id'],
                                name=op.f('fk_errand_offer_errand_id_errand')),
        sa.ForeignKeyConstraint(['runner_id'], ['errand_runner.id'],
                                name=op.f('fk_errand_offer_runner_id_errand_runner')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_errand_offer')),
    )
    op.create_index('ix_errand_offer_errand_id', 'errand_offer', ['errand_id'])
    op.create_index('ix_errand_offer_runner_outcome', 'errand_offer', ['runner_id', 'outcome'])


def downgrade() -> None:
    op.drop_index('ix_errand_offer_runner_outcome', table_name='errand_offer')
    op.drop_index('ix_errand_offer_errand_id', table_name='errand_offer')
    op.drop_table('errand_offer')
    with op.batch_alter_table('errand') as batch:
        batch.drop_column('pickup_km')
        batch.drop_column('pooled_at')
        batch.drop_column('dispatch_cycles')
    with op.batch_alter_table('errand_zone') as batch:
        batch.drop_column('mode')
