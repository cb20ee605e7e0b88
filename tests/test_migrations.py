"""The migrations, on the database under test: one head, up/down/up, and models == head."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from intake import migrate
from intake.db import Base
from intake.models import UTCDateTime  # noqa: F401  (registers every table on Base.metadata)

TABLES = {"partner", "factory", "reporter", "report", "report_category", "message"}


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    names = set(inspect(engine).get_table_names()) - {"alembic_version"}
    engine.dispose()
    return names


def test_there_is_a_single_head() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))

    assert len(script.get_heads()) == 1


def test_upgrade_downgrade_upgrade(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    assert _tables(empty_database_url) >= TABLES

    migrate.downgrade(empty_database_url, "base")
    assert _tables(empty_database_url) == set()

    migrate.upgrade(empty_database_url)
    assert _tables(empty_database_url) >= TABLES


def test_every_revision_goes_down_and_up_again(empty_database_url: str) -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config(empty_database_url))
    revisions = list(reversed(list(script.walk_revisions())))
    for revision in revisions:
        migrate.upgrade(empty_database_url, revision.revision)
        migrate.downgrade(empty_database_url, revision.down_revision or "base")
        migrate.upgrade(empty_database_url, revision.revision)


def test_the_models_match_the_migrations(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    engine = create_engine(empty_database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": migrate.include_name}
        )
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()

    assert differences == []


def test_the_analysis_migration_keeps_existing_messages(empty_database_url: str) -> None:
    from sqlalchemy import text

    migrate.upgrade(empty_database_url, "0f691beed8ef")
    engine = create_engine(empty_database_url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO reporter (id, pseudonym, consent, opted_out, created_at, last_seen_at) "
            "VALUES (1, 'p', true, false, '2026-10-01 00:00:00+00', '2026-10-01 00:00:00+00')"
        ))
        connection.execute(text(
            "INSERT INTO message (id, direction, kind, reporter_id, text, num_media, redactions,"
            " created_at) VALUES (1, 'inbound', 'report', 1, 'no pay', 0, '{}',"
            " '2026-10-01 00:00:00+00')"
        ))
    migrate.upgrade(empty_database_url)
    with engine.connect() as connection:
        analysis = connection.execute(text("SELECT analysis FROM message")).scalar_one()
    engine.dispose()

    assert analysis in ({}, "{}")
