"""benchmark: catalog snapshots of cities, alignment groups, suggestions

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 13:48:17.154992
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tongban.core.db

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('benchmark_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('base_code', sa.String(length=100), nullable=False),
    sa.Column('created_at', tongban.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benchmark_group')),
    sa.UniqueConstraint('key', name=op.f('uq_benchmark_group_key'))
    )
    op.create_table('benchmark_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('item_key', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('updated_at', tongban.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['benchmark_group.id'], name=op.f('fk_benchmark_member_group_id_benchmark_group')),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], name=op.f('fk_benchmark_member_org_id_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benchmark_member')),
    sa.UniqueConstraint('org_id', 'item_key', name=op.f('uq_benchmark_member_org_id'))
    )
    with op.batch_alter_table('benchmark_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benchmark_member_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_benchmark_member_org_id'), ['org_id'], unique=False)

    op.create_table('benchmark_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('item_count', sa.Integer(), nullable=False),
    sa.Column('material_count', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('created_at', tongban.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], name=op.f('fk_benchmark_snapshot_org_id_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benchmark_snapshot'))
    )
    with op.batch_alter_table('benchmark_snapshot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benchmark_snapshot_content_hash'), ['content_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_benchmark_snapshot_org_id'), ['org_id'], unique=False)

    op.create_table('benchmark_suggestion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('material', sa.String(length=300), nullable=False),
    sa.Column('item_name', sa.String(length=300), nullable=False),
    sa.Column('department', sa.String(length=100), nullable=False),
    sa.Column('dept_org_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.String(length=2000), nullable=False),
    sa.Column('cities', sa.String(length=500), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', tongban.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tongban.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dept_org_id'], ['org.id'], name=op.f('fk_benchmark_suggestion_dept_org_id_org')),
    sa.ForeignKeyConstraint(['group_id'], ['benchmark_group.id'], name=op.f('fk_benchmark_suggestion_group_id_benchmark_group')),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], name=op.f('fk_benchmark_suggestion_org_id_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benchmark_suggestion')),
    sa.UniqueConstraint('org_id', 'group_id', 'kind', 'material', name=op.f('uq_benchmark_suggestion_org_id'))
    )
    with op.batch_alter_table('benchmark_suggestion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benchmark_suggestion_dept_org_id'), ['dept_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_benchmark_suggestion_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_benchmark_suggestion_org_id'), ['org_id'], unique=False)

    op.create_table('benchmark_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=320), nullable=False),
    sa.Column('base_code', sa.String(length=100), nullable=False),
    sa.Column('impl_code', sa.String(length=100), nullable=False),
    sa.Column('align_code', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('department', sa.String(length=100), nullable=False),
    sa.Column('item_type', sa.String(length=4), nullable=False),
    sa.Column('legal_days', sa.Float(), nullable=True),
    sa.Column('promised_days', sa.Float(), nullable=True),
    sa.Column('steps', sa.Integer(), nullable=True),
    sa.Column('procedure', sa.String(length=500), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=True),
    sa.Column('fee', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['snapshot_id'], ['benchmark_snapshot.id'], name=op.f('fk_benchmark_item_snapshot_id_benchmark_snapshot'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benchmark_item')),
    sa.UniqueConstraint('snapshot_id', 'key', name=op.f('uq_benchmark_item_snapshot_id'))
    )
    with op.batch_alter_table('benchmark_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benchmark_item_align_code'), ['align_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_benchmark_item_snapshot_id'), ['snapshot_id'], unique=False)

    op.create_table('benchmark_material',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('form', sa.String(length=20), nullable=False),
    sa.Column('copies', sa.Integer(), nullable=True),
    sa.Column('requirement', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['benchmark_item.id'], name=op.f('fk_benchmark_material_item_id_benchmark_item'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benchmark_material'))
    )
    with op.batch_alter_table('benchmark_material', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benchmark_material_item_id'), ['item_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('benchmark_material', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_benchmark_material_item_id'))

    op.drop_table('benchmark_material')
    with op.batch_alter_table('benchmark_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_benchmark_item_snapshot_id'))
        batch_op.drop_index(batch_op.f('ix_benchmark_item_align_code'))

    op.drop_table('benchmark_item')
    with op.batch_alter_table('benchmark_suggestion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_benchmark_suggestion_org_id'))
        batch_op.drop_index(batch_op.f('ix_benchmark_suggestion_group_id'))
        batch_op.drop_index(batch_op.f('ix_benchmark_suggestion_dept_org_id'))

    op.drop_table('benchmark_suggestion')
    with op.batch_alter_table('benchmark_snapshot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_benchmark_snapshot_org_id'))
        batch_op.drop_index(batch_op.f('ix_benchmark_snapshot_content_hash'))

    op.drop_table('benchmark_snapshot')
    with op.batch_alter_table('benchmark_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_benchmark_member_org_id'))
        batch_op.drop_index(batch_op.f('ix_benchmark_member_group_id'))

    op.drop_table('benchmark_member')
    op.drop_table('benchmark_group')
