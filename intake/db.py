"""The database: one engine per app, one session per request, SQLite tuned for a single host."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Named constraints, so SQLite and PostgreSQL migrations name (and drop) them alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


WRITE_OPTION = "intake_write"


class Base(DeclarativeBase):
    """Base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, timeout: float = 10.0) -> Engine:
    """An engine that never echoes bound values (message texts) into logs or exceptions.

    `timeout` bounds the wait for a connection or a lock, so that a stuck database becomes a
    quick 503 rather than a request that Twilio times out on.
    """
    engine = create_engine(
        url, hide_parameters=True, pool_pre_ping=True, connect_args=_connect_args(url, timeout)
    )
    if engine.dialect.name == "sqlite":
        busy = int(timeout * 1000)
        event.listen(engine, "connect", lambda conn, record: _sqlite_on_connect(conn, busy))
        event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _connect_args(url: str, timeout: float) -> dict[str, Any]:
    if url.startswith("postgresql"):
        milliseconds = int(timeout * 1000)
        return {
            "connect_timeout": max(1, round(timeout)),
            "options": f"-c lock_timeout={milliseconds} -c statement_timeout={milliseconds * 3}",
        }
    return {}


def _sqlite_on_connect(dbapi_connection: DBAPIConnection, busy_milliseconds: int) -> None:
    # The driver's own implicit BEGIN is turned off so that _sqlite_on_begin decides the kind.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_milliseconds}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return
    write = options.get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """A transaction that will write: on SQLite it takes the write lock up front.

    A plain (deferred) SQLite transaction that reads and then writes fails at once with
    "database is locked" when another process wrote in between, without waiting for
    busy_timeout; readers keep plain transactions so that they never block writers.
    """
    with session.begin():
        session.connection(execution_options={WRITE_OPTION: True})
        yield session


def init_app(app: Flask, url: str, timeout: float) -> None:
    """Bind an engine and session factory to the app; sessions close at the end of a request."""
    engine = make_engine(url, timeout)
    app.extensions["intake.db"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def sessions(app: Flask | None = None) -> sessionmaker[Session]:
    """The app's session factory, for commands and jobs that manage their own sessions."""
    factory: sessionmaker[Session] = (app or current_app).extensions["intake.db"]
    return factory


def get_session() -> Session:
    """The session of the current request (or app context), opened on first use."""
    if "db_session" not in g:
        g.db_session = sessions()()
    session: Session = g.db_session
    return session


def _close_session(_error: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def dispose(app: Flask) -> None:
    """Close every pooled connection of the app's engine (tests, forked workers)."""
    engine = sessions(app).kw["bind"]
    engine.dispose()
