"""benchmark_guides: the guide's elements on catalog items, the province's 实施清单 materials

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tongban.core.db

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUIDE_COLUMNS = (('basis', sa.Text()), ('conditions', sa.Text()), ('place', sa.String(300)),
                 ('hours', sa.String(200)), ('consult_phone', sa.String(100)),
                 ('supervise_phone', sa.String(100)), ('result_name', sa.String(300)))


def upgrade() -> None:
    with op.batch_alter_table('benchmark_item') as batch:
        for name, type_ in GUIDE_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=False, server_default=''))
    op.create_table(
        'benchmark_list_material',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('item', sa.String(length=320), nullable=False),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('form', sa.String(length=20), nullable=False),
        sa.Column('copies', sa.Integer(), nullable=True),
        sa.Column('requirement', sa.String(length=16), nullable=False),
        sa.Column('imported_at', tongban.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['org.id'],
                                name=op.f('fk_benchmark_list_material_org_id_org')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_benchmark_list_material')),
    )
    op.create_index(op.f('ix_benchmark_list_material_org_id'), 'benchmark_list_material',
                    ['org_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_benchmark_list_material_org_id'), 'benchmark_list_material')
    op.drop_table('benchmark_list_material')
    with op.batch_alter_table('benchmark_item') as batch:
        for name, _ in reversed(GUIDE_COLUMNS):
            batch.drop_column(name)
