"""benchmark: the answer workflow of suggestions and the mapping of 实施部门 names

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tongban.core.db

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('benchmark_department_map',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('dept_org_id', sa.Integer(), nullable=False),
    sa.Column('mapped_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', tongban.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['dept_org_id'], ['org.id'], name=op.f('fk_benchmark_department_map_dept_org_id_org')),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], name=op.f('fk_benchmark_department_map_org_id_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benchmark_department_map')),
    sa.UniqueConstraint('org_id', 'name', name=op.f('uq_benchmark_department_map_org_id'))
    )
    with op.batch_alter_table('benchmark_department_map', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benchmark_department_map_org_id'), ['org_id'], unique=False)

    with op.batch_alter_table('benchmark_suggestion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issued_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('snapshot_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('answered_at', tongban.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('answered_by', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('planned_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('answer', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('implemented_at', tongban.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('evidence_snapshot_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_benchmark_suggestion_due_on'), ['due_on'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_benchmark_suggestion_snapshot_id_benchmark_snapshot'), 'benchmark_snapshot', ['snapshot_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_benchmark_suggestion_evidence_snapshot_id_benchmark_snapshot'), 'benchmark_snapshot', ['evidence_snapshot_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('benchmark_suggestion', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_benchmark_suggestion_evidence_snapshot_id_benchmark_snapshot'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_benchmark_suggestion_snapshot_id_benchmark_snapshot'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_benchmark_suggestion_due_on'))
        for column in ('evidence_snapshot_id', 'implemented_at', 'answer', 'planned_on',
                       'answered_by', 'answered_at', 'snapshot_id', 'due_on', 'issued_on'):
            batch_op.drop_column(column)

    with op.batch_alter_table('benchmark_department_map', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_benchmark_department_map_org_id'))
    op.drop_table('benchmark_department_map')
