"""errand: 跑团代办 items, zones, runners, errands and the custody log of documents

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 13:48:41
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tongban.core.db

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('errand_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_code', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('category', sa.String(length=50), nullable=False),
    sa.Column('fee_cents', sa.Integer(), nullable=False),
    sa.Column('documents', sa.Text(), nullable=False),
    sa.Column('hall', sa.String(length=200), nullable=False),
    sa.Column('window', sa.String(length=100), nullable=False),
    sa.Column('sla_hours', sa.Integer(), nullable=True),
    sa.Column('sla_days', sa.Integer(), nullable=True),
    sa.Column('qualification', sa.String(length=50), nullable=False),
    sa.Column('batch', sa.Integer(), nullable=False),
    sa.Column('published_on', sa.Date(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_errand_item')),
    sa.UniqueConstraint('item_code', 'batch', name=op.f('uq_errand_item_item_code'))
    )
    with op.batch_alter_table('errand_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_errand_item_item_code'), ['item_code'], unique=False)

    op.create_table('errand_zone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('seat_lat', sa.Float(), nullable=False),
    sa.Column('seat_lng', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], name=op.f('fk_errand_zone_org_id_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_errand_zone')),
    sa.UniqueConstraint('org_id', name=op.f('uq_errand_zone_org_id'))
    )
    op.create_table('errand_runner',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('team_org_id', sa.Integer(), nullable=False),
    sa.Column('qualifications', sa.String(length=300), nullable=False),
    sa.Column('on_duty', sa.Boolean(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('active_count', sa.Integer(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lng', sa.Float(), nullable=True),
    sa.Column('position_at', tongban.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rating', sa.Float(), nullable=False),
    sa.Column('suspended', sa.Boolean(), nullable=False),
    sa.Column('created_at', tongban.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_org_id'], ['org.id'], name=op.f('fk_errand_runner_team_org_id_org')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_errand_runner_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_errand_runner')),
    sa.UniqueConstraint('user_id', name=op.f('uq_errand_runner_user_id'))
    )
    with op.batch_alter_table('errand_runner', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_errand_runner_team_org_id'), ['team_org_id'], unique=False)

    op.create_table('errand',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('zone_org_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('contact_name', sa.String(length=100), nullable=False),
    sa.Column('phone_cipher', sa.String(length=200), nullable=False),
    sa.Column('phone_masked', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('pickup_lat', sa.Float(), nullable=False),
    sa.Column('pickup_lng', sa.Float(), nullable=False),
    sa.Column('preferred_window', sa.String(length=100), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('authorised', sa.Boolean(), nullable=False),
    sa.Column('authorised_at', tongban.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('runner_id', sa.Integer(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=300), nullable=True),
    sa.Column('tracking_hash', sa.String(length=64), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('submitted_at', tongban.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('open_at', tongban.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('offered_at', tongban.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', tongban.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('picked_up_at', tongban.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('at_window_at', tongban.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_at', tongban.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', tongban.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rated_at', tongban.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', tongban.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failed_at', tongban.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], name=op.f('fk_errand_created_by_user_account')),
    sa.ForeignKeyConstraint(['item_id'], ['errand_item.id'], name=op.f('fk_errand_item_id_errand_item')),
    sa.ForeignKeyConstraint(['runner_id'], ['errand_runner.id'], name=op.f('fk_errand_runner_id_errand_runner')),
    sa.ForeignKeyConstraint(['zone_org_id'], ['org.id'], name=op.f('fk_errand_zone_org_id_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_errand')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_errand_idempotency_key')),
    sa.UniqueConstraint('tracking_hash', name=op.f('uq_errand_tracking_hash'))
    )
    with op.batch_alter_table('errand', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_errand_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_errand_runner_id'), ['runner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_errand_state'), ['state'], unique=False)
        batch_op.create_index('ix_errand_state_zone', ['state', 'zone_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_errand_zone_org_id'), ['zone_org_id'], unique=False)

    op.create_table('errand_handover',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('errand_id', sa.Integer(), nullable=False),
    sa.Column('from_kind', sa.String(length=16), nullable=False),
    sa.Column('from_name', sa.String(length=100), nullable=False),
    sa.Column('to_kind', sa.String(length=16), nullable=False),
    sa.Column('to_name', sa.String(length=100), nullable=False),
    sa.Column('at', tongban.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('photo_ref', sa.String(length=300), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['errand_id'], ['errand.id'], name=op.f('fk_errand_handover_errand_id_errand')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_errand_handover'))
    )
    with op.batch_alter_table('errand_handover', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_errand_handover_errand_id'), ['errand_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('errand_handover', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_errand_handover_errand_id'))

    op.drop_table('errand_handover')
    with op.batch_alter_table('errand', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_errand_zone_org_id'))
        batch_op.drop_index('ix_errand_state_zone')
        batch_op.drop_index(batch_op.f('ix_errand_state'))
        batch_op.drop_index(batch_op.f('ix_errand_runner_id'))
        batch_op.drop_index(batch_op.f('ix_errand_item_id'))

    op.drop_table('errand')
    with op.batch_alter_table('errand_runner', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_errand_runner_team_org_id'))

    op.drop_table('errand_runner')
    op.drop_table('errand_zone')
    with op.batch_alter_table('errand_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_errand_item_item_code'))

    op.drop_table('errand_item')
