"""org: the register of departments (org_alias) takes over the deptCodes of 好差评
(dept_code_map) and the 实施部门 names of 对标 (benchmark_department_map), with every
mapping they held; the names 对标 suggestions carry and no mapping resolves are kept as seen

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-08 03:08:12
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tongban.core.db

revision: str = '0029'
down_revision: str | None = '0028'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('org_alias',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('value', sa.String(length=100), nullable=False),
    sa.Column('city_id', sa.Integer(), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('mapped_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', tongban.core.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', tongban.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['city_id'], ['org.id'], name=op.f('fk_org_alias_city_id_org')),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], name=op.f('fk_org_alias_org_id_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_org_alias')),
    sa.UniqueConstraint('kind', 'city_id', 'value', name=op.f('uq_org_alias_kind'))
    )
    with op.batch_alter_table('org_alias', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_org_alias_city_id'), ['city_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_org_alias_org_id'), ['org_id'], unique=False)
        batch_op.create_index('uq_org_alias_code', ['value'], unique=True, sqlite_where=sa.text("kind = 'code'"), postgresql_where=sa.text("kind = 'code'"))

    op.execute(
        "INSERT INTO org_alias (kind, value, city_id, org_id, source, mapped_by, created_at, "
        "updated_at) SELECT 'code', code, NULL, org_id, '好差评', created_by, created_at, "
        "created_at FROM dept_code_map")
    op.execute(
        "INSERT INTO org_alias (kind, value, city_id, org_id, source, mapped_by, created_at, "
        "updated_at) SELECT 'name', name, org_id, dept_org_id, '对标', mapped_by, updated_at, "
        "updated_at FROM benchmark_department_map")
    op.execute(  # the names open suggestions carry that nothing maps: seen, to be mapped
        "INSERT INTO org_alias (kind, value, city_id, org_id, source, mapped_by, created_at, "
        "updated_at) SELECT 'name', s.department, s.org_id, NULL, '对标', '', "
        "MIN(s.created_at), MIN(s.created_at) FROM benchmark_suggestion s "
        "WHERE s.dept_org_id IS NULL AND s.department <> '' AND s.state <> 'withdrawn' "
        "AND NOT EXISTS (SELECT 1 FROM benchmark_department_map m "
        "WHERE m.org_id = s.org_id AND m.name = s.department) "
        "GROUP BY s.org_id, s.department")

    with op.batch_alter_table('benchmark_department_map', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_benchmark_department_map_org_id'))

    op.drop_table('benchmark_department_map')
    with op.batch_alter_table('dept_code_map', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dept_code_map_org_id'))

    op.drop_table('dept_code_map')


def downgrade() -> None:
    op.create_table('dept_code_map',
    sa.Column('code', sa.VARCHAR(length=18), nullable=False),
    sa.Column('org_id', sa.INTEGER(), nullable=False),
    sa.Column('created_by', sa.VARCHAR(length=64), nullable=False),
    sa.Column('created_at', tongban.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], name=op.f('fk_dept_code_map_org_id_org')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_dept_code_map'))
    )
    with op.batch_alter_table('dept_code_map', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dept_code_map_org_id'), ['org_id'], unique=False)

    op.create_table('benchmark_department_map',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('org_id', sa.INTEGER(), nullable=False),
    sa.Column('name', sa.VARCHAR(length=100), nullable=False),
    sa.Column('dept_org_id', sa.INTEGER(), nullable=False),
    sa.Column('mapped_by', sa.VARCHAR(length=100), nullable=False),
    sa.Column('updated_at', tongban.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['dept_org_id'], ['org.id'], name=op.f('fk_benchmark_department_map_dept_org_id_org')),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], name=op.f('fk_benchmark_department_map_org_id_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benchmark_department_map')),
    sa.UniqueConstraint('org_id', 'name', name=op.f('uq_benchmark_department_map_org_id'))
    )
    with op.batch_alter_table('benchmark_department_map', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benchmark_department_map_org_id'), ['org_id'], unique=False)

    op.execute(
        "INSERT INTO dept_code_map (code, org_id, created_by, created_at) SELECT value, org_id, "
        "mapped_by, created_at FROM org_alias WHERE kind = 'code' AND org_id IS NOT NULL "
        "AND LENGTH(value) = 18")
    op.execute(
        "INSERT INTO benchmark_department_map (org_id, name, dept_org_id, mapped_by, updated_at) "
        "SELECT city_id, value, org_id, mapped_by, updated_at FROM org_alias "
        "WHERE kind = 'name' AND org_id IS NOT NULL AND city_id IS NOT NULL")
    with op.batch_alter_table('org_alias', schema=None) as batch_op:
        batch_op.drop_index('uq_org_alias_code', sqlite_where=sa.text("kind = 'code'"), postgresql_where=sa.text("kind = 'code'"))
        batch_op.drop_index(batch_op.f('ix_org_alias_org_id'))
        batch_op.drop_index(batch_op.f('ix_org_alias_city_id'))

    op.drop_table('org_alias')
