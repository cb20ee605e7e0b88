"""The database: one engine per app, one session per request, SQLite tuned for a single host."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_app_context
from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Named constraints, so SQLite and PostgreSQL migrations name (and drop) them alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


log = logging.getLogger(__name__)

WRITE_OPTION = "intake_write"
T = TypeVar("T")


class Base(DeclarativeBase):
    """Base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, timeout: float = 5.0) -> Engine:
    """An engine that never echoes bound values (message texts) into logs or exceptions.

    `timeout` bounds the wait for a connection or a lock, so that a stuck database becomes a
    quick 503 rather than a request that Twilio times out on. Inside a request the waits of
    all its transactions share one deadline (`start_deadline`).
    """
    engine = create_engine(
        url,
        hide_parameters=True,
        # A server restart leaves dead pooled connections; a local SQLite file never does.
        pool_pre_ping=not url.startswith("sqlite"),
        pool_timeout=timeout,
        connect_args=_connect_args(url, timeout),
    )
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            _private_files(database)
            _WRITER_LOCKS[engine] = WriterLock(f"{database}-writer.lock", timeout)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", lambda connection: _sqlite_on_begin(connection, timeout))
    else:
        event.listen(engine, "begin", lambda connection: _postgres_on_begin(connection, timeout))
    return engine


def _private_files(database: str) -> None:
    """The SQLite file, created readable and writable by its owner alone.

    SQLite creates the WAL and shared-memory files later, with the database file's own mode,
    so this covers all three; a file made world-readable before is tightened.
    """
    try:
        os.close(os.open(database, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError:
        return  # no such folder, say: connecting reports it
    for path in (database, f"{database}-wal", f"{database}-shm"):
        try:
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)
        except FileNotFoundError:
            continue
        except PermissionError:
            log.warning("cannot make %s private: it belongs to another user", path)


def start_deadline(seconds: float) -> None:
    """From now on, the current request's waits for the database share `seconds` in all.

    The writer lock, SQLite's busy timeout and PostgreSQL's lock and statement timeouts each
    bounded one wait: chained (a second attempt, a second thread of the worker waiting for the
    first) they made a 503 take twice the timeout and a stored SMS 15 s, when Twilio gave up.
    """
    g.db_deadline = time.monotonic() + seconds


def _budget(timeout: float) -> float:
    """How long the next wait for the database may take: `timeout`, or what the deadline leaves."""
    deadline: float | None = g.get("db_deadline") if has_app_context() else None
    if deadline is None:
        return timeout
    return max(0.0, min(timeout, deadline - time.monotonic()))


def _connect_args(url: str, timeout: float) -> dict[str, Any]:
    if url.startswith("postgresql"):
        milliseconds = int(timeout * 1000)
        return {
            "connect_timeout": max(1, round(timeout)),
            "options": f"-c lock_timeout={milliseconds} -c statement_timeout={milliseconds * 2}",
        }
    return {}


def _sqlite_on_connect(dbapi_connection: DBAPIConnection, _record: object) -> None:
    # The driver's own implicit BEGIN is turned off so that _sqlite_on_begin decides the kind.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(connection: Any, timeout: float) -> None:
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return
    # Set for each transaction: a pooled connection serves requests with different budgets.
    busy = int(_budget(timeout) * 1000)
    info = connection.connection.info
    if info.get("busy_timeout") != busy:
        connection.exec_driver_sql(f"PRAGMA busy_timeout={busy}")
        info["busy_timeout"] = busy
    write = options.get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _postgres_on_begin(connection: Any, timeout: float) -> None:
    if not has_app_context() or g.get("db_deadline") is None:
        return  # commands and jobs keep the connection's own timeouts
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    # 0 would mean "no limit" to PostgreSQL; 1 ms means "do not wait" for a lock.
    lock = max(1, int(_budget(timeout) * 1000))
    statement = lock + int(timeout * 1000)  # a statement may still finish after the deadline
    connection.exec_driver_sql(
        f"SET LOCAL lock_timeout = {lock}; SET LOCAL statement_timeout = {statement}"
    )


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """A transaction that will write: on SQLite it takes the write lock up front.

    A plain (deferred) SQLite transaction that reads and then writes fails at once with
    "database is locked" when another process wrote in between, without waiting for
    busy_timeout; readers keep plain transactions so that they never block writers.
    """
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        # A request that read first (the signed-in user, say) ends that read-only transaction
        # here, so that the write lock is taken at BEGIN as below.
        session.commit()
    lock = _writer_lock(session.get_bind())
    with lock if lock is not None else nullcontext(), session.begin():
        session.connection(execution_options={WRITE_OPTION: True})
        yield session


class WriterLock:
    """Serialises the writers of one SQLite file across threads and processes.

    SQLite's own busy handler sleeps in steps of up to 100 ms while another process writes, so
    a few gunicorn workers writing at once spend most of their time asleep. A kernel file lock
    hands over as soon as the writer is done; `timeout` still ends in a 503.
    """

    def __init__(self, path: str, timeout: float) -> None:
        self._path = path
        self._timeout = timeout
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> None:
        budget = _budget(self._timeout)
        deadline = time.monotonic() + budget
        if not self._threads.acquire(timeout=budget):
            raise _lock_timeout()
        try:
            # flock belongs to the open file: a forked worker must open its own.
            if self._fd is None or self._pid != os.getpid():
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise _lock_timeout() from None
                    time.sleep(0.0005)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *_exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


def _lock_timeout() -> OperationalError:
    return OperationalError("acquire SQLite writer lock", None, TimeoutError("writer lock"))


def _writer_lock(bind: Any) -> WriterLock | None:
    return _WRITER_LOCKS.get(getattr(bind, "engine", bind))


_WRITER_LOCKS: weakref.WeakKeyDictionary[Engine, WriterLock] = weakref.WeakKeyDictionary()


def init_app(app: Flask, url: str, timeout: float) -> None:
    """Bind an engine and session factory to the app; sessions close at the end of a request."""
    engine = make_engine(url, timeout)
    app.extensions["intake.db"] = sessionmaker(engine, expire_on_commit=False)
    app.before_request(lambda: start_deadline(timeout))
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
    _WRITER_LOCKS.pop(engine, None)


def read_existing(url: str, reader: Callable[[Session], T], default: T) -> T:
    """`reader` run on the database at `url`, or `default` where there is no database (yet).

    For commands that must work on a fresh install: connecting would create an empty SQLite
    file, and an unmigrated database has no tables.
    """
    if url.startswith("sqlite:///") and not os.path.exists(url.removeprefix("sqlite:///")):
        return default
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return reader(session)
    except SQLAlchemyError:
        return default
    finally:
        engine.dispose()
