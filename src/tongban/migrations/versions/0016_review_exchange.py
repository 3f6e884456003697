"""好差评 exchange records: dept_code_map (deptCode → org), review.rater_key, review.follow_up_of

``dept_code_map`` remembers which org a department's unified social credit code stands for;
``review.rater_key`` keeps the rater's certkeyGOV as a keyed hash only (indexed where present);
``review.follow_up_of`` links a second rating (assessNumber 2) to the first.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-12 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tongban.core.db

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'dept_code_map',
        sa.Column('code', sa.String(length=18), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', tongban.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['org.id'], name=op.f('fk_dept_code_map_org_id_org')),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_dept_code_map')),
    )
    with op.batch_alter_table('dept_code_map', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dept_code_map_org_id'), ['org_id'], unique=False)

    op.add_column('review', sa.Column('rater_key', sa.String(length=32), server_default='',
                                      nullable=False))
    # On SQLite the column takes its reference in ADD COLUMN: creating the constraint apart
    # would rebuild the review table, which the tables referring to it do not allow.
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        op.execute('ALTER TABLE review ADD COLUMN follow_up_of INTEGER '
                   'CONSTRAINT fk_review_follow_up_of_review REFERENCES review (id)')
    else:
        op.add_column('review', sa.Column('follow_up_of', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_follow_up_of'), ['follow_up_of'],
                              unique=False)
        batch_op.create_index('ix_review_rater_key', ['rater_key'], unique=False,
                              sqlite_where=sa.text("rater_key != ''"),
                              postgresql_where=sa.text("rater_key != ''"))
    if not sqlite:
        op.create_foreign_key(op.f('fk_review_follow_up_of_review'), 'review', 'review',
                              ['follow_up_of'], ['id'])


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(op.f('fk_review_follow_up_of_review'), 'review', type_='foreignkey')
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_index('ix_review_rater_key')
        batch_op.drop_index(batch_op.f('ix_review_follow_up_of'))
        batch_op.drop_column('follow_up_of')
        batch_op.drop_column('rater_key')

    with op.batch_alter_table('dept_code_map', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dept_code_map_org_id'))

    op.drop_table('dept_code_map')
