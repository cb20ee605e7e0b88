"""audit_event refuses TRUNCATE on PostgreSQL

Revision ID: 4b3e292405d4
Revises: 9444e50ff62d
Create Date: 2026-12-06 21:46:21.920006

A row trigger never sees TRUNCATE: a statement-level one does (also when the table is
emptied by `TRUNCATE ... CASCADE` from a table it refers to). It reuses the function that
refuses UPDATE and DELETE. SQLite has no TRUNCATE: its DELETE trigger covers `DELETE FROM`.
A table's owner can still disable triggers, so production connects as a role that does
not own the tables (see the README).
"""

from collections.abc import Sequence

from alembic import op

revision: str = '4b3e292405d4'
down_revision: str | None = '9444e50ff62d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event"
            " FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_event_no_truncate ON audit_event")
