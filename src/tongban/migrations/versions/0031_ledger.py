"""ledger: ledger types (versioned YAML), their items, one entry per org and item with
evidence files, the figures imported per month, each org's 权责清单 and exam results

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-08 03:28:45.703542
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tongban.core.db

revision: str = '0031'
down_revision: str | None = '0030'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ledger_type',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=48), nullable=False),
    sa.Column('version', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('loaded_at', tongban.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('loaded_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_type')),
    sa.UniqueConstraint('code', 'version', name=op.f('uq_ledger_type_code'))
    )
    with op.batch_alter_table('ledger_type', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_type_code'), ['code'], unique=False)

    op.create_table('ledger_exam',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type_code', sa.String(length=48), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('person', sa.String(length=50), nullable=False),
    sa.Column('exam_on', sa.Date(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], name=op.f('fk_ledger_exam_org_id_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_exam')),
    sa.UniqueConstraint('type_code', 'org_id', 'person', 'exam_on', name=op.f('uq_ledger_exam_type_code'))
    )
    with op.batch_alter_table('ledger_exam', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_exam_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_exam_type_code'), ['type_code'], unique=False)

    op.create_table('ledger_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type_code', sa.String(length=48), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('target', sa.Float(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['lead_id'], ['org.id'], name=op.f('fk_ledger_item_lead_id_org')),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], name=op.f('fk_ledger_item_org_id_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_item')),
    sa.UniqueConstraint('type_code', 'code', name=op.f('uq_ledger_item_type_code'))
    )
    with op.batch_alter_table('ledger_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_item_lead_id'), ['lead_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_item_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_item_type_code'), ['type_code'], unique=False)

    op.create_table('ledger_org_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type_code', sa.String(length=48), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('list_compiled', sa.Boolean(), nullable=False),
    sa.Column('compiled_on', sa.Date(), nullable=True),
    sa.Column('updated_at', tongban.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], name=op.f('fk_ledger_org_record_org_id_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_org_record')),
    sa.UniqueConstraint('type_code', 'org_id', name=op.f('uq_ledger_org_record_type_code'))
    )
    with op.batch_alter_table('ledger_org_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_org_record_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_org_record_type_code'), ['type_code'], unique=False)

    op.create_table('ledger_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type_code', sa.String(length=48), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=48), nullable=False),
    sa.Column('reason', sa.String(length=100), nullable=False),
    sa.Column('responsible', sa.String(length=100), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('rectification_task_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', tongban.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['ledger_item.id'], name=op.f('fk_ledger_entry_item_id_ledger_item')),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], name=op.f('fk_ledger_entry_org_id_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entry')),
    sa.UniqueConstraint('item_id', 'org_id', name=op.f('uq_ledger_entry_item_id'))
    )
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_entry_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entry_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entry_type_code'), ['type_code'], unique=False)

    op.create_table('ledger_figure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type_code', sa.String(length=48), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['ledger_item.id'], name=op.f('fk_ledger_figure_item_id_ledger_item')),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], name=op.f('fk_ledger_figure_org_id_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_figure')),
    sa.UniqueConstraint('item_id', 'org_id', 'period', 'kind', name=op.f('uq_ledger_figure_item_id'))
    )
    with op.batch_alter_table('ledger_figure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_figure_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_figure_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_figure_period'), ['period'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_figure_type_code'), ['type_code'], unique=False)

    op.create_table('ledger_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', tongban.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entry.id'], name=op.f('fk_ledger_attachment_entry_id_ledger_entry'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_attachment')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_ledger_attachment_stored_name'))
    )
    with op.batch_alter_table('ledger_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_attachment_entry_id'), ['entry_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ledger_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_attachment_entry_id'))

    op.drop_table('ledger_attachment')
    with op.batch_alter_table('ledger_figure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_figure_type_code'))
        batch_op.drop_index(batch_op.f('ix_ledger_figure_period'))
        batch_op.drop_index(batch_op.f('ix_ledger_figure_org_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_figure_item_id'))

    op.drop_table('ledger_figure')
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_entry_type_code'))
        batch_op.drop_index(batch_op.f('ix_ledger_entry_org_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_entry_item_id'))

    op.drop_table('ledger_entry')
    with op.batch_alter_table('ledger_org_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_org_record_type_code'))
        batch_op.drop_index(batch_op.f('ix_ledger_org_record_org_id'))

    op.drop_table('ledger_org_record')
    with op.batch_alter_table('ledger_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_item_type_code'))
        batch_op.drop_index(batch_op.f('ix_ledger_item_org_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_item_lead_id'))

    op.drop_table('ledger_item')
    with op.batch_alter_table('ledger_exam', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_exam_type_code'))
        batch_op.drop_index(batch_op.f('ix_ledger_exam_org_id'))

    op.drop_table('ledger_exam')
    with op.batch_alter_table('ledger_type', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_type_code'))

    op.drop_table('ledger_type')
