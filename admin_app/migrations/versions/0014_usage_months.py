"""usage months: per-mailbox monthly rollups of usage_days, kept by triggers, for the monthly report

The report read every day of a month twice (the month and the one before) to compute four figures per mailbox;
it now reads one row per mailbox and month. ``active_days`` has bit ``d - 1`` set when day ``d`` had an
interactive login, so "active on N working days" is counted against the report's calendar of holidays, which may
change after ingestion.

The rollup is the sums of the days, kept in the transaction that writes the days (so the ingestion transaction
that upserts them, with its file offset, moves the months too: exactly once). Triggers on ``usage_days`` apply
any writer's inserts, updates and deletes: PostgreSQL with statement triggers over transition tables (one grouped
statement per upsert of a whole chunk); SQLite with row triggers, which ingestion switches off for its own upsert
(a row in ``usage_month_writers``, inside its transaction) because it adds its tally's months in one statement
itself: a trigger per day upserted would cost twice the upsert. The existing days are summed into the table here.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

COUNTERS = (
    "imap_logins",
    "pop3_logins",
    "webmail_logins",
    "smtp_logins",
    "failed_logins",
    "sent_messages",
    "sent_recipients",
    "sent_bytes",
    "fetched_bodies",
    "fetched_bytes",
)
BIG = ("sent_bytes", "fetched_bytes")
NAMES = ", ".join((*COUNTERS, "active_days"))


def _logins(row: str) -> str:
    return " + ".join(f"{row}{c}" for c in ("imap_logins", "pop3_logins", "webmail_logins", "smtp_logins"))


# -- SQLite: a day is ISO text ('2026-10-07'); its month is '2026-10-01', its bit 1 << (7 - 1) -----------------

NOT_WRITING = "NOT EXISTS (SELECT 1 FROM usage_month_writers)"  # ingestion writes its months itself


def _sqlite_month(row: str) -> str:
    return f"substr({row}.day, 1, 8) || '01'"


def _sqlite_bit(row: str) -> str:
    return f"(1 << (CAST(substr({row}.day, 9, 2) AS INTEGER) - 1))"


def _sqlite_add(row: str) -> str:
    """Add the day ``row`` (NEW) to its month, creating the month's row."""
    values = ", ".join(f"{row}.{c}" for c in COUNTERS)
    updates = ", ".join(f"{c} = {c} + excluded.{c}" for c in COUNTERS)
    return (
        f"INSERT INTO usage_months (staff_id, month, {NAMES}) VALUES ({row}.staff_id, {_sqlite_month(row)}, {values}, "  # noqa: S608 - our identifiers
        f"CASE WHEN {_logins(row + '.')} > 0 THEN {_sqlite_bit(row)} ELSE 0 END) "
        f"ON CONFLICT (staff_id, month) DO UPDATE SET {updates}, active_days = active_days | excluded.active_days;"
    )


def _sqlite_remove(row: str) -> str:
    """Take the day ``row`` (OLD) out of its month; a month left without days goes."""
    updates = ", ".join(f"{c} = {c} - {row}.{c}" for c in COUNTERS)
    where = f"staff_id = {row}.staff_id AND month = {_sqlite_month(row)}"
    days = (
        f"SELECT 1 FROM usage_days WHERE staff_id = {row}.staff_id AND day BETWEEN {_sqlite_month(row)} "  # noqa: S608 - our identifiers
        f"AND substr({row}.day, 1, 8) || '31'"
    )
    return (
        f"UPDATE usage_months SET {updates}, active_days = active_days & ~{_sqlite_bit(row)} WHERE {where}; "  # noqa: S608 - our identifiers
        f"DELETE FROM usage_months WHERE {where} AND NOT EXISTS ({days});"
    )


def _sqlite_change() -> str:
    """The same day with new counters (what an upsert onto a day does): one statement."""
    updates = ", ".join(f"{c} = {c} + NEW.{c} - OLD.{c}" for c in COUNTERS)
    return (
        f"UPDATE usage_months SET {updates}, active_days = (active_days & ~{_sqlite_bit('NEW')}) | "  # noqa: S608 - our identifiers
        f"CASE WHEN {_logins('NEW.')} > 0 THEN {_sqlite_bit('NEW')} ELSE 0 END "
        f"WHERE staff_id = NEW.staff_id AND month = {_sqlite_month('NEW')};"
    )


SAME_DAY = "NEW.staff_id = OLD.staff_id AND NEW.day = OLD.day"
SQLITE_TRIGGERS = {
    "usage_months_insert": f"AFTER INSERT ON usage_days WHEN {NOT_WRITING} BEGIN {_sqlite_add('NEW')} END",
    "usage_months_update": f"AFTER UPDATE ON usage_days WHEN {SAME_DAY} AND {NOT_WRITING} BEGIN {_sqlite_change()} END",
    "usage_months_move": f"AFTER UPDATE ON usage_days WHEN NOT ({SAME_DAY}) "
    f"BEGIN {_sqlite_remove('OLD')} {_sqlite_add('NEW')} END",
    "usage_months_delete": f"AFTER DELETE ON usage_days BEGIN {_sqlite_remove('OLD')} END",
}


# -- PostgreSQL: statement triggers; the changed rows grouped per mailbox and month --------------------------------


def _pg_grouped(rows: str, *, active_only: bool) -> str:
    bit = "(1 << (extract(day FROM day)::int - 1))"
    bits = f"CASE WHEN {_logins('')} > 0 THEN {bit} ELSE 0 END" if active_only else bit
    sums = ", ".join(f"sum({c})::{'bigint' if c in BIG else 'int'} AS {c}" for c in COUNTERS)
    return (
        f"SELECT staff_id, date_trunc('month', day)::date AS month, {sums}, bit_or({bits}) AS active_days "  # noqa: S608 - our identifiers
        f"FROM {rows} GROUP BY 1, 2"
    )


PG_FUNCTION = f"""
CREATE FUNCTION usage_months_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM usage_months;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE usage_months AS m SET {", ".join(f"{c} = m.{c} - o.{c}" for c in COUNTERS)},
            active_days = m.active_days & ~o.active_days
        FROM ({_pg_grouped("old_rows", active_only=False)}) AS o
        WHERE m.staff_id = o.staff_id AND m.month = o.month;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO usage_months (staff_id, month, {NAMES})
        {_pg_grouped("new_rows", active_only=True)}
        ON CONFLICT (staff_id, month) DO UPDATE SET
            {", ".join(f"{c} = usage_months.{c} + excluded.{c}" for c in COUNTERS)},
            active_days = usage_months.active_days | excluded.active_days;
    END IF;
    IF TG_OP = 'DELETE' THEN
        DELETE FROM usage_months AS m USING (SELECT DISTINCT staff_id, date_trunc('month', day)::date AS month
            FROM old_rows) AS o
        WHERE m.staff_id = o.staff_id AND m.month = o.month AND NOT EXISTS (SELECT 1 FROM usage_days AS d
            WHERE d.staff_id = m.staff_id AND d.day >= m.month AND d.day < (m.month + interval '1 month')::date);
    ELSIF TG_OP = 'UPDATE' THEN  -- a day moved out of its month (an upsert onto a day keeps it)
        DELETE FROM usage_months AS m USING (
            SELECT staff_id, date_trunc('month', day)::date AS month FROM old_rows
            EXCEPT SELECT staff_id, date_trunc('month', day)::date FROM new_rows) AS o
        WHERE m.staff_id = o.staff_id AND m.month = o.month AND NOT EXISTS (SELECT 1 FROM usage_days AS d
            WHERE d.staff_id = m.staff_id AND d.day >= m.month AND d.day < (m.month + interval '1 month')::date);
    END IF;
    RETURN NULL;
END
$$
"""  # noqa: S608 - our identifiers
PG_TRIGGERS = {
    "usage_months_insert": "AFTER INSERT ON usage_days REFERENCING NEW TABLE AS new_rows",
    "usage_months_update": "AFTER UPDATE ON usage_days REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "usage_months_delete": "AFTER DELETE ON usage_days REFERENCING OLD TABLE AS old_rows",
    "usage_months_truncate": "AFTER TRUNCATE ON usage_days",
}


def _backfill(dialect: str) -> str:
    """Every month of the existing days (a day's bit summed: one row per day, so the sum is the bitwise or)."""
    if dialect == "postgresql":
        month, bit = "date_trunc('month', day)::date", "(1 << (extract(day FROM day)::int - 1))"
    else:
        month, bit = "substr(day, 1, 8) || '01'", "(1 << (CAST(substr(day, 9, 2) AS INTEGER) - 1))"
    sums = ", ".join(f"sum({c})" for c in COUNTERS)
    return (
        f"INSERT INTO usage_months (staff_id, month, {NAMES}) SELECT staff_id, {month}, {sums}, "  # noqa: S608 - our identifiers
        f"sum(CASE WHEN {_logins('')} > 0 THEN {bit} ELSE 0 END) FROM usage_days GROUP BY staff_id, {month}"
    )


def upgrade() -> None:
    op.create_table(
        "usage_months",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        *(sa.Column(c, sa.BigInteger() if c in BIG else sa.Integer(), nullable=False) for c in COUNTERS),
        sa.Column("active_days", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_usage_months_staff_id_staff"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("staff_id", "month", name=op.f("pk_usage_months")),
    )
    with op.batch_alter_table("usage_months", schema=None) as batch_op:
        batch_op.create_index("ix_usage_months_month", ["month"], unique=False)
    op.create_table(
        "usage_month_writers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_month_writers")),
    )
    dialect = op.get_bind().dialect.name
    op.execute(_backfill(dialect))
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
        for name, when in PG_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT EXECUTE FUNCTION usage_months_apply()")
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in PG_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON usage_days")
        op.execute("DROP FUNCTION IF EXISTS usage_months_apply()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("usage_months", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_months_month")
    op.drop_table("usage_month_writers")
    op.drop_table("usage_months")
