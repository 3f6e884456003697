"""review.phone_suffix: a keyed hash of the phone's last four digits, indexed, for 尾号 search

Existing rows are filled here: each stored number is decrypted with the configured data keys
(settings are read from the environment, as the server reads them) and its suffix hashed with
the newest key. A number no configured key opens is left empty, not guessed: ``tongban keys
rotate`` fills it once the right keys are back (it re-keys every suffix along with the cipher).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_suffix', sa.String(length=32), server_default='',
                                      nullable=False))
        batch_op.create_index('ix_review_phone_suffix', ['phone_suffix'], unique=False,
                              sqlite_where=sa.text("phone_suffix != ''"),
                              postgresql_where=sa.text("phone_suffix != ''"))
    fill_phone_suffixes(op.get_bind())


def fill_phone_suffixes(conn: sa.Connection) -> int:
    """Hash the suffix of every stored phone that has none yet; the number filled."""
    from tongban.core import privacy

    review = sa.table('review', sa.column('id', sa.Integer), sa.column('phone_cipher', sa.String),
                      sa.column('phone_suffix', sa.String))
    filled, last_id = 0, 0
    while True:
        rows = conn.execute(sa.select(review.c.id, review.c.phone_cipher).where(
            review.c.id > last_id, review.c.phone_cipher != '', review.c.phone_suffix == '')
            .order_by(review.c.id).limit(BATCH)).all()
        if not rows:
            return filled
        last_id = rows[-1][0]
        values = []
        for rid, cipher in rows:
            try:
                phone = privacy.reveal(cipher)
            except privacy.UndecryptableData:
                continue
            values.append({"rid": rid, "suffix": privacy.phone_suffix_key(phone)})
        if values:
            conn.execute(review.update().where(review.c.id == sa.bindparam('rid'))
                         .values(phone_suffix=sa.bindparam('suffix')), values)
            filled += len(values)


def downgrade() -> None:
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_index('ix_review_phone_suffix')
        batch_op.drop_column('phone_suffix')
