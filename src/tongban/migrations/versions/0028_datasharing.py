"""datasharing: the catalog of shared datasets, their deliveries and checks, use counts, and the
cascade to the provincial exchange platform

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-08 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tongban.core.db

revision: str = '0028'
down_revision: str | None = '0027'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('data_dataset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('frequency', sa.String(length=10), nullable=False),
    sa.Column('share_type', sa.String(length=16), nullable=False),
    sa.Column('open_type', sa.String(length=16), nullable=False),
    sa.Column('business', sa.String(length=300), nullable=False),
    sa.Column('key_data', sa.Boolean(), nullable=False),
    sa.Column('pull_url', sa.String(length=500), nullable=False),
    sa.Column('pull_table', sa.String(length=128), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', tongban.core.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', tongban.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['org.id'], name=op.f('fk_data_dataset_department_id_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_dataset')),
    sa.UniqueConstraint('code', name=op.f('uq_data_dataset_code'))
    )
    op.create_index(op.f('ix_data_dataset_department_id'), 'data_dataset', ['department_id'], unique=False)
    op.create_table('data_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('delivered_on', sa.Date(), nullable=False),
    sa.Column('delivered_at', tongban.core.db.UTCDateTime(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('cells', sa.Integer(), nullable=False),
    sa.Column('invalid_cells', sa.Integer(), nullable=False),
    sa.Column('missing_required', sa.Integer(), nullable=False),
    sa.Column('duplicate_keys', sa.Integer(), nullable=False),
    sa.Column('field_counts', sa.JSON(), nullable=False),
    sa.Column('samples', sa.JSON(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('delivered_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['data_dataset.id'], name=op.f('fk_data_delivery_dataset_id_data_dataset')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_delivery'))
    )
    op.create_index(op.f('ix_data_delivery_dataset_id'), 'data_delivery', ['dataset_id'], unique=False)
    op.create_index(op.f('ix_data_delivery_delivered_on'), 'data_delivery', ['delivered_on'], unique=False)
    op.create_table('data_field',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('type', sa.String(length=10), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('primary_key', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['data_dataset.id'], name=op.f('fk_data_field_dataset_id_data_dataset'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_field')),
    sa.UniqueConstraint('dataset_id', 'name', name=op.f('uq_data_field_dataset_id'))
    )
    op.create_index(op.f('ix_data_field_dataset_id'), 'data_field', ['dataset_id'], unique=False)
    op.create_table('data_use',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('downloads', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['data_dataset.id'], name=op.f('fk_data_use_dataset_id_data_dataset')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_use')),
    sa.UniqueConstraint('dataset_id', 'period', name=op.f('uq_data_use_dataset_id'))
    )
    op.create_index(op.f('ix_data_use_dataset_id'), 'data_use', ['dataset_id'], unique=False)
    op.create_table('data_cascade',
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('registered_at', tongban.core.db.UTCDateTime(), nullable=True),
    sa.Column('standard', sa.String(length=16), nullable=False),
    sa.Column('last_success_at', tongban.core.db.UTCDateTime(), nullable=True),
    sa.Column('last_delivery_id', sa.Integer(), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('failing_since', tongban.core.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['dataset_id'], ['data_dataset.id'], name=op.f('fk_data_cascade_dataset_id_data_dataset')),
    sa.ForeignKeyConstraint(['last_delivery_id'], ['data_delivery.id'], name=op.f('fk_data_cascade_last_delivery_id_data_delivery')),
    sa.PrimaryKeyConstraint('dataset_id', name=op.f('pk_data_cascade'))
    )
    op.create_table('data_cascade_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('at', tongban.core.db.UTCDateTime(), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('standard', sa.String(length=16), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['data_dataset.id'], name=op.f('fk_data_cascade_attempt_dataset_id_data_dataset')),
    sa.ForeignKeyConstraint(['delivery_id'], ['data_delivery.id'], name=op.f('fk_data_cascade_attempt_delivery_id_data_delivery')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_cascade_attempt'))
    )
    op.create_index(op.f('ix_data_cascade_attempt_at'), 'data_cascade_attempt', ['at'], unique=False)
    op.create_index(op.f('ix_data_cascade_attempt_dataset_id'), 'data_cascade_attempt', ['dataset_id'], unique=False)


def downgrade() -> None:

    op.drop_index(op.f('ix_data_cascade_attempt_dataset_id'), table_name='data_cascade_attempt')
    op.drop_index(op.f('ix_data_cascade_attempt_at'), table_name='data_cascade_attempt')
    op.drop_table('data_cascade_attempt')
    op.drop_table('data_cascade')
    op.drop_index(op.f('ix_data_use_dataset_id'), table_name='data_use')
    op.drop_table('data_use')
    op.drop_index(op.f('ix_data_field_dataset_id'), table_name='data_field')
    op.drop_table('data_field')
    op.drop_index(op.f('ix_data_delivery_delivered_on'), table_name='data_delivery')
    op.drop_index(op.f('ix_data_delivery_dataset_id'), table_name='data_delivery')
    op.drop_table('data_delivery')
    op.drop_index(op.f('ix_data_dataset_department_id'), table_name='data_dataset')
    op.drop_table('data_dataset')
