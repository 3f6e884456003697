"""errand_channels_postal: third-party channels of errands (order ids, callback events) and
the post-office registry; the files of errands (hand-over photos, 委托书); runners'
suspensions

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tongban.core.db

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('errand') as batch:
        batch.add_column(sa.Column('channel_code', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('channel_order_id', sa.String(length=100), nullable=True))
        batch.create_unique_constraint('uq_errand_channel_code', ['channel_code', 'channel_order_id'])
    op.create_table(
        'errand_channel_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel_code', sa.String(length=16), nullable=False),
        sa.Column('event_id', sa.String(length=100), nullable=False),
        sa.Column('errand_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('received_at', tongban.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['errand_id'], ['errand.id'],
                                name=op.f('fk_errand_channel_event_errand_id_errand')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_errand_channel_event')),
        sa.UniqueConstraint('channel_code', 'event_id',
                            name=op.f('uq_errand_channel_event_channel_code')),
    )
    op.create_index(op.f('ix_errand_channel_event_errand_id'), 'errand_channel_event',
                    ['errand_id'])
    op.create_table(
        'errand_post_office',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=50), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('address', sa.String(length=300), nullable=False),
        sa.Column('county_org_id', sa.Integer(), nullable=False),
        sa.Column('lat', sa.Float(), nullable=True),
        sa.Column('lng', sa.Float(), nullable=True),
        sa.Column('upgraded', sa.Boolean(), nullable=False),
        sa.Column('upgraded_on', sa.Date(), nullable=True),
        sa.Column('departments', sa.Text(), nullable=False),
        sa.Column('item_codes', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['county_org_id'], ['org.id'],
                                name=op.f('fk_errand_post_office_county_org_id_org')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_errand_post_office')),
        sa.UniqueConstraint('code', name=op.f('uq_errand_post_office_code')),
    )
    op.create_index(op.f('ix_errand_post_office_county_org_id'), 'errand_post_office',
                    ['county_org_id'])
    op.create_table(
        'errand_file',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('errand_id', sa.Integer(), nullable=False),
        sa.Column('handover_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('stored_name', sa.String(length=100), nullable=False),
        sa.Column('content_type', sa.String(length=50), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('uploaded_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', tongban.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['errand_id'], ['errand.id'],
                                name=op.f('fk_errand_file_errand_id_errand')),
        sa.ForeignKeyConstraint(['handover_id'], ['errand_handover.id'],
                                name=op.f('fk_errand_file_handover_id_errand_handover')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_errand_file')),
        sa.UniqueConstraint('stored_name', name=op.f('uq_errand_file_stored_name')),
    )
    op.create_index(op.f('ix_errand_file_errand_id'), 'errand_file', ['errand_id'])
    op.create_table(
        'errand_runner_suspension',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('runner_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('automatic', sa.Boolean(), nullable=False),
        sa.Column('by', sa.String(length=64), nullable=False),
        sa.Column('at', tongban.core.db.UTCDateTime(), nullable=False),
        sa.Column('lifted_reason', sa.String(length=300), nullable=False),
        sa.Column('lifted_by', sa.String(length=64), nullable=False),
        sa.Column('lifted_at', tongban.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['runner_id'], ['errand_runner.id'],
                                name=op.f('fk_errand_runner_suspension_runner_id_errand_runner')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_errand_runner_suspension')),
    )
    op.create_index(op.f('ix_errand_runner_suspension_runner_id'), 'errand_runner_suspension',
                    ['runner_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_errand_runner_suspension_runner_id'),
                  table_name='errand_runner_suspension')
    op.drop_table('errand_runner_suspension')
    op.drop_index(op.f('ix_errand_file_errand_id'), table_name='errand_file')
    op.drop_table('errand_file')
    op.drop_index(op.f('ix_errand_post_office_county_org_id'), table_name='errand_post_office')
    op.drop_table('errand_post_office')
    op.drop_index(op.f('ix_errand_channel_event_errand_id'), table_name='errand_channel_event')
    op.drop_table('errand_channel_event')
    with op.batch_alter_table('errand') as batch:
        batch.drop_constraint('uq_errand_channel_code', type_='unique')
        batch.drop_column('channel_order_id')
        batch.drop_column('channel_code')
