"""errand_town: a request placed in a 乡镇(街道) without a point on the map

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-08 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0032'
down_revision: str | None = '0031'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('errand') as batch:
        batch.add_column(sa.Column('town_code', sa.String(length=12), nullable=False,
                                   server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('errand') as batch:
        batch.drop_column('town_code')
