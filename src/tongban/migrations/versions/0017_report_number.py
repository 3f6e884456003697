"""report.number: the 文号 of each archived report, numbered per kind and year

Reports archived before get numbers in the order they were generated, per kind and year of
generation, and their printed 文号 is left empty (their files were written without one).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-12 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('number', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('doc_number', sa.String(length=40), server_default='',
                                      nullable=False))
    report = sa.table('report', sa.column('id', sa.Integer), sa.column('kind', sa.String),
                      sa.column('generated_at', sa.DateTime),
                      sa.column('number_year', sa.Integer), sa.column('number', sa.Integer))
    conn = op.get_bind()
    counters: dict[tuple[str, int], int] = {}
    for row in conn.execute(sa.select(report.c.id, report.c.kind, report.c.generated_at)
                            .order_by(report.c.generated_at, report.c.id)):
        year = row.generated_at.year if row.generated_at is not None else 0
        counters[(row.kind, year)] = counters.get((row.kind, year), 0) + 1
        conn.execute(report.update().where(report.c.id == row.id).values(
            number_year=year, number=counters[(row.kind, year)]))
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_report_number', ['kind', 'number_year', 'number'])


def downgrade() -> None:
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.drop_constraint('uq_report_number', type_='unique')
        batch_op.drop_column('doc_number')
        batch_op.drop_column('number')
        batch_op.drop_column('number_year')
