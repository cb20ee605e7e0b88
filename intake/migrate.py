"""Alembic, driven from intake's own configuration (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> AlembicConfig:
    """An Alembic configuration for the database at `url`."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic reads this through ConfigParser, which treats % as interpolation.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision`."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Take the database at `url` down to `revision`."""
    command.downgrade(alembic_config(url), revision)


# Search indexes made by migrations in raw SQL (an FTS5 table and its shadow tables on SQLite,
# a pg_trgm GIN index on PostgreSQL): no model describes them, so autogenerate must not either.
UNMODELLED_PREFIXES = ("message_fts", "ix_message_text_trgm")


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Whether autogenerate compares this table or index with the models."""
    return not (name or "").startswith(UNMODELLED_PREFIXES)
