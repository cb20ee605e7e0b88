"""The SQLite file and its WAL and shared-memory files are readable by the service alone."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from intake import migrate
from intake.db import make_engine

SUFFIXES = ("", "-wal", "-shm")


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most systems give a service (0022: new files world-readable)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def modes(path: Path) -> dict[str, int]:
    return {s: stat.S_IMODE(os.stat(f"{path}{s}").st_mode) for s in SUFFIXES}


@pytest.mark.usefixtures("usual_umask")
def test_a_new_database_and_its_wal_and_shm_are_private(tmp_path: Path) -> None:
    path = tmp_path / "intake.sqlite"
    migrate.upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO partner (name, countries, created_at)"
                    " VALUES ('P', '[]', '2026-01-01 00:00:00')"
                )
            )
        # While a connection is open the WAL and shared-memory files exist.
        with engine.connect() as connection:
            connection.execute(text("SELECT count(*) FROM partner"))
            assert modes(path) == dict.fromkeys(SUFFIXES, 0o600)
    finally:
        engine.dispose()


@pytest.mark.usefixtures("usual_umask")
def test_an_existing_world_readable_database_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "intake.sqlite"
    migrate.upgrade(f"sqlite:///{path}")
    os.chmod(path, 0o644)
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT count(*) FROM partner"))
            assert modes(path) == dict.fromkeys(SUFFIXES, 0o600)
    finally:
        engine.dispose()
