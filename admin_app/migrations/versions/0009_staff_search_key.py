"""staff search key: people found by name without diacritics ("nguyen van an" finds "Nguyễn Văn An")

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 15:00:00

Existing rows get their key here, in batches; from then on every insert and update keeps it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from provisioning.names import search_key_of

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BATCH = 2000


def upgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_key", sa.String(length=700), server_default="", nullable=False))
    bind = op.get_bind()
    staff = sa.table("staff", sa.column("id"), sa.column("full_name"), sa.column("email"), sa.column("search_key"))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(staff.c.id, staff.c.full_name, staff.c.email)
            .where(staff.c.id > last)
            .order_by(staff.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        bind.execute(
            staff.update().where(staff.c.id == sa.bindparam("sid")).values(search_key=sa.bindparam("key")),
            [{"sid": sid, "key": search_key_of(name or "", email or "")} for sid, name, email in rows],
        )
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("search_key")
