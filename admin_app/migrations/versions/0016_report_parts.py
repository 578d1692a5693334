"""report parts: a stored report's head, unit rows and inactive list in tables of their own

The report page parsed the whole stored snapshot on every view (for 30,000 mailboxes 850 KB of JSON, two thirds
of it the list of inactive mailboxes, of which it shows 50), and the dashboard parsed twelve of them for a trend
of twelve figures. The snapshot stays whole in ``monthly_reports.data`` (the API, the exports and the monthly mail
read it); its parts are kept beside it (audit.report_store): the head (province figures apart), one row per unit,
one row per inactive mailbox. The snapshots stored before are split here.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 02:00:00
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _report_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["report_id"], ["monthly_reports.id"], name=op.f(f"fk_{table}_report_id_monthly_reports"), ondelete="CASCADE"
    )


def upgrade() -> None:
    heads = op.create_table(
        "monthly_report_heads",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("province", sa.JSON(), nullable=True),
        sa.Column("head", sa.JSON(), nullable=False),
        sa.Column("inactive_count", sa.Integer(), nullable=False),
        _report_fk("monthly_report_heads"),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_monthly_report_heads")),
    )
    units = op.create_table(
        "monthly_report_units",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("depth", sa.Integer(), nullable=True),
        sa.Column("row", sa.JSON(), nullable=False),
        _report_fk("monthly_report_units"),
        sa.PrimaryKeyConstraint("report_id", "position", name=op.f("pk_monthly_report_units")),
    )
    op.create_index("ix_monthly_report_units_unit", "monthly_report_units", ["report_id", "unit_id"], unique=False)
    inactive = op.create_table(
        "monthly_report_inactive",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("is_by_name", sa.Boolean(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("unit", sa.String(length=300), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        _report_fk("monthly_report_inactive"),
        sa.PrimaryKeyConstraint("report_id", "position", name=op.f("pk_monthly_report_inactive")),
    )
    op.create_index(
        "ix_monthly_report_inactive_unit",
        "monthly_report_inactive",
        ["report_id", "unit_id", "position"],
        unique=False,
    )
    _split_stored(heads, units, inactive)


def _split_stored(heads: sa.Table, units: sa.Table, inactive: sa.Table) -> None:
    """The parts of every snapshot stored before, as audit.report_store.write_parts writes them (repeated here so
    that this migration does not change when that module does)."""
    bind = op.get_bind()
    reports = sa.table("monthly_reports", sa.column("id", sa.Integer()), sa.column("data", sa.JSON()))
    for (report_id,) in bind.execute(sa.select(reports.c.id).order_by(reports.c.id)).all():
        data: Any = bind.execute(sa.select(reports.c.data).where(reports.c.id == report_id)).scalar_one()
        if isinstance(data, str):
            data = json.loads(data)
        data = data if isinstance(data, dict) else {}
        rows = [u for u in data.get("units") or [] if isinstance(u, dict)]
        gone = [r for r in data.get("inactive") or [] if isinstance(r, dict)]
        head = {k: v for k, v in data.items() if k not in ("units", "inactive")}
        bind.execute(
            heads.insert(),
            [{"report_id": report_id, "province": data.get("province"), "head": head, "inactive_count": len(gone)}],
        )
        if rows:
            bind.execute(
                units.insert(),
                [
                    {"report_id": report_id, "position": i, "unit_id": u.get("id"), "depth": u.get("depth"), "row": u}
                    for i, u in enumerate(rows)
                ],
            )
        for start in range(0, len(gone), 5000):
            bind.execute(
                inactive.insert(),
                [
                    {
                        "report_id": report_id,
                        "position": start + i,
                        "unit_id": r.get("unit_id"),
                        "is_by_name": "unit_id" not in r,
                        "email": str(r.get("email") or ""),
                        "name": str(r.get("name") or ""),
                        "unit": str(r.get("unit") or ""),
                        "unit_code": str(r.get("unit_code") or ""),
                    }
                    for i, r in enumerate(gone[start : start + 5000])
                ],
            )


def downgrade() -> None:
    op.drop_index("ix_monthly_report_inactive_unit", table_name="monthly_report_inactive")
    op.drop_table("monthly_report_inactive")
    op.drop_index("ix_monthly_report_units_unit", table_name="monthly_report_units")
    op.drop_table("monthly_report_units")
    op.drop_table("monthly_report_heads")
