"""benchmark: the frontier stored per set of latest snapshots and state of the alignment
(benchmark_frontier, benchmark_frontier_offer); empty until the next alignment, readers compute
it meanwhile

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-08 03:16:26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tongban.core.db

revision: str = '0030'
down_revision: str | None = '0029'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('benchmark_frontier',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('computed_at', tongban.core.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benchmark_frontier')),
    sa.UniqueConstraint('key', name=op.f('uq_benchmark_frontier_key'))
    )
    op.create_table('benchmark_frontier_offer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('frontier_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('department', sa.String(length=100), nullable=False),
    sa.Column('procedure', sa.String(length=500), nullable=False),
    sa.Column('promised_days', sa.Float(), nullable=True),
    sa.Column('steps', sa.Float(), nullable=True),
    sa.Column('visits', sa.Float(), nullable=True),
    sa.Column('materials', sa.Float(), nullable=True),
    sa.Column('has_materials', sa.Boolean(), nullable=False),
    sa.Column('required', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['frontier_id'], ['benchmark_frontier.id'], name=op.f('fk_benchmark_frontier_offer_frontier_id_benchmark_frontier'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benchmark_frontier_offer'))
    )
    with op.batch_alter_table('benchmark_frontier_offer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benchmark_frontier_offer_frontier_id'), ['frontier_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('benchmark_frontier_offer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_benchmark_frontier_offer_frontier_id'))

    op.drop_table('benchmark_frontier_offer')
    op.drop_table('benchmark_frontier')
