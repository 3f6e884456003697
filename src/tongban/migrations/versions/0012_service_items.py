"""service_item: the service-item catalog (事项目录) of a place

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tongban.core.db

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'service_item',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('impl_code', sa.String(length=100), nullable=False),
        sa.Column('base_code', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('department', sa.String(length=100), nullable=False),
        sa.Column('dept_code', sa.String(length=64), nullable=False),
        sa.Column('item_type', sa.String(length=4), nullable=False),
        sa.Column('main_item', sa.String(length=300), nullable=False),
        sa.Column('area_code', sa.String(length=12), nullable=False),
        sa.Column('link', sa.String(length=500), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.Column('updated_at', tongban.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['org.id'], name=op.f('fk_service_item_org_id_org')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_service_item')),
        sa.UniqueConstraint('org_id', 'impl_code', name=op.f('uq_service_item_org_id')),
    )
    with op.batch_alter_table('service_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_item_base_code'), ['base_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_item_impl_code'), ['impl_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_item_org_id'), ['org_id'], unique=False)


def downgrade() -> None:
    op.drop_table('service_item')
