"""Engine, one session per request, and the declarative base."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from flask import Flask, current_app, g, has_app_context, has_request_context, request
from sqlalchemy import Connection, DateTime, Engine, MetaData, Select, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every engine (SQLite hands back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)  # SQLite compares the stored text: one zone only

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, *, sqlite_busy_timeout: float = 5.0, **kwargs: Any) -> Engine:
    if not url.startswith("sqlite"):  # a file does not drop connections; skip a ping per request
        kwargs.setdefault("pool_pre_ping", True)  # a connection lost in a restart is replaced
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _make_sqlite_transactional(engine, sqlite_busy_timeout)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _no_jit)
    return engine


def _no_jit(dbapi_connection: Any, _record: Any) -> None:
    # JIT compiling pays off for long analytic queries; here it only added ~10 ms to list pages
    # whose plan is costed high because it may walk far but in fact stops after a page.
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    dbapi_connection.commit()


def _make_sqlite_transactional(engine: Engine, busy_timeout: float) -> None:
    # pysqlite opens transactions lazily and breaks SAVEPOINT; let SQLAlchemy emit BEGIN itself.
    # https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#serializable-isolation-savepoints-transactional-ddl
    in_memory = _in_memory(engine)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # A writer waits this long for another's lock instead of failing at once.
        cursor.execute(f"PRAGMA busy_timeout={round(busy_timeout * 1000)}")
        if not in_memory:
            # Write-ahead log: readers never wait for the writer, nor the writer for readers
            # (https://sqlite.org/wal.html). It sticks to the file; :memory: has no log.
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _may_write() else "BEGIN")


def _in_memory(engine: Engine) -> bool:
    """A SQLite database in memory: each connection (but a shared cache's) has one of its own."""
    database = engine.url.database or ""
    return database in ("", ":memory:") or engine.url.query.get("mode") == "memory"


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _may_write() -> bool:
    """Whether a SQLite transaction beginning now must take the write lock at once.

    In WAL mode a plain (deferred) BEGIN reads from a snapshot and asks for the write lock at its
    first write; if another connection committed in between, that write fails at once with
    SQLITE_BUSY_SNAPSHOT ("database is locked", no busy timeout: waiting could not help), so a
    transaction that reads and then writes, which is nearly every change here, fails under
    concurrency. BEGIN IMMEDIATE takes the write lock first (waiting up to the busy timeout), so
    writing transactions run one at a time, each on the latest data.

    Reads are not held up: a GET, HEAD or OPTIONS request (none writes) begins deferred and
    reads its snapshot beside the writer. Elsewhere in the app (other requests, CLI commands,
    the webhook worker's passes) transactions may write. Outside the app (a script with its own
    connection, the test suite's rolled-back transaction) SQLite's own default stays.
    """
    if has_request_context():
        return request.method not in READ_ONLY_METHODS
    return has_app_context()


class Database:
    """The app's engine and session factory; tests swap the factory for a rolled-back one."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessionmaker = sessionmaker(bind=engine, expire_on_commit=False)
        # :memory: is a database per connection: only the pool's is the app's.
        if not (engine.dialect.name == "sqlite" and _in_memory(engine)):
            _THREAD_READERS[engine] = ThreadReaders(engine)


class ThreadReaders:
    """One connection per thread for the prepared reads, kept open beside the pool.

    A read on a pooled connection paid more for the pool than for its statement: a checkout and
    a return (~10 µs), and on PostgreSQL a ping and a transaction's toggles (a round trip more,
    ~100 µs of this process). Each serving thread keeps its own instead (4 a worker under
    `onboarding serve`), made by the engine (its connect hooks: on SQLite foreign keys, busy
    timeout, WAL) and then detached from the pool. It reads in autocommit, each statement on
    the latest commit, as a pooled read did. A connection found lost is replaced by the next
    read (`Prepared` runs the read again); the engine's `dispose()` closes them all, and a
    thread's goes with the thread.
    """

    def __init__(self, engine: Engine) -> None:
        self._local = threading.local()
        self._open: weakref.WeakSet[_Own] = weakref.WeakSet()
        event.listen(engine, "engine_disposed", self._close_all)

    def connection(self, engine: Engine) -> Any:
        """This thread's DBAPI connection (a new one after a fork, or after `forget`)."""
        mine: _Own | None = getattr(self._local, "mine", None)
        if mine is None or mine.pid != os.getpid():
            pooled = engine.raw_connection()
            driver: Any = pooled.driver_connection
            pooled.detach()  # ours for good: the pool neither counts nor resets it
            if engine.dialect.name == "postgresql":
                driver.autocommit = True  # no BEGIN and ROLLBACK around each read
            mine = self._local.mine = _Own(driver)
            self._open.add(mine)
        return mine.driver

    def forget(self) -> None:
        """Close this thread's connection, lost: the next read makes a new one."""
        mine: _Own | None = self._local.__dict__.pop("mine", None)
        if mine is not None:
            mine.close()

    def _close_all(self, _engine: Engine) -> None:
        for mine in list(self._open):
            mine.close()  # its thread's next read finds it closed, and makes a new one


# Each engine's, if it has them; weakly, so that an engine let go takes its readers along.
_THREAD_READERS: weakref.WeakKeyDictionary[Engine, ThreadReaders] = weakref.WeakKeyDictionary()


def thread_readers(engine: Engine) -> ThreadReaders | None:
    return _THREAD_READERS.get(engine)


class _Own:
    """A thread's connection, closed when let go: when its thread ends, `forget`, dispose."""

    __slots__ = ("__weakref__", "driver", "pid")

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.pid = os.getpid()

    def close(self) -> None:
        if self.pid == os.getpid():  # never a parent's, inherited through a fork
            self.driver.close()

    def __del__(self) -> None:
        self.close()


def init_app(app: Flask) -> None:
    engine = make_engine(
        app.config["DATABASE_URL"],
        sqlite_busy_timeout=float(app.config["SQLITE_BUSY_TIMEOUT"]),
    )
    app.extensions["db"] = Database(engine)
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """The session of the current request (or CLI command), opened on first use."""
    context = g._get_current_object()  # one proxy lookup, not 3
    session: Session | None = getattr(context, "db_session", None)
    if session is None:
        session = context.db_session = current_app.extensions["db"].sessionmaker()
    return session


def end_reads(session: Session) -> None:
    """End the session's transaction before slow work (a DNS lookup, a password hash), so that
    nothing is held meanwhile: on SQLite a request that may write holds the database's write
    lock from its first read (BEGIN IMMEDIATE, above), on PostgreSQL a transaction its row locks.

    Only for a transaction that has merely read. Its objects are expired, so each is read again,
    in the next transaction, when next used: nothing read before the slow part stands in for what
    is stored after it.
    """
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("end_reads() would drop changes: only a reading transaction may end so")
    session.rollback()


class _Form(NamedTuple):
    """A statement as one dialect runs it: SQL text, how to bind, how to read each column."""

    sql: str
    positions: tuple[str, ...] | None  # the parameters' order (qmark), or None (named)
    binds: dict[str, Callable[[Any], Any]]
    results: tuple[Callable[[Any], Any] | None, ...]
    compiled: Any


Source = Session | Engine | Connection  # what a Prepared statement reads through


class Prepared:
    """A Core SELECT compiled once per dialect and run straight on a DBAPI connection.

    For the hot read paths (key check, API-key auth, permission check, the consent screen): on
    SQLite a Session costs ~110 µs to begin, run one statement and close; this ~15 µs.
    SQLAlchemy's bind and result processing are kept (datetimes, enums), and its errors: a
    DBAPI error becomes sqlalchemy's DBAPIError (so 503 while the database is away), a lost
    connection is replaced and the read run once more.

    When the session has a transaction open, the read runs inside it (and sees its writes);
    otherwise on the thread's own connection, in autocommit (ThreadReaders; a pooled one for
    SQLite in memory). Either way it sees what is committed now: nothing is cached across
    requests. Statements take no expanding IN parameters.
    """

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        self._forms: dict[str, _Form] = {}

    def first(self, source: Source, **params: Any) -> tuple[Any, ...] | None:
        rows = self._run(source, params, many=False)
        return rows[0] if rows else None

    def all(self, source: Source, **params: Any) -> list[tuple[Any, ...]]:
        return self._run(source, params, many=True)

    def _form(self, dialect: Dialect) -> _Form:
        form = self._forms.get(dialect.name)
        if form is None:
            compiled: Any = self.statement.compile(dialect=dialect)
            binds = {}
            for name, bind in compiled.binds.items():
                if bind.expanding:
                    raise ValueError("Prepared statements take no expanding IN parameters")
                processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    binds[name] = processor
            results = tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in self.statement.selected_columns
            )
            positions = tuple(compiled.positiontup) if compiled.positional else None
            form = self._forms[dialect.name] = _Form(
                compiled.string, positions, binds, results, compiled
            )
        return form

    def _run(self, source: Source, params: dict[str, Any], *, many: bool) -> list[tuple[Any, ...]]:
        session = source if isinstance(source, Session) else None
        bind = source.get_bind() if isinstance(source, Session) else source
        dialect = bind.dialect
        form = self._form(dialect)
        values = form.compiled.construct_params(params)
        for name, processor in form.binds.items():
            values[name] = processor(values[name])
        bound: Any = values if form.positions is None else [values[n] for n in form.positions]
        try:
            if session is not None and session.in_transaction():  # it sees its own writes
                rows = _fetch(session.connection().connection, form.sql, bound, many)
            elif isinstance(bind, Connection):  # sessions are bound to one (the test suite)
                rows = _fetch(bind.connection, form.sql, bound, many)
            elif (readers := _THREAD_READERS.get(bind)) is not None:
                rows = _fetch_on_own(bind, readers, form.sql, bound, many)
            else:
                rows = _fetch_on_pooled(bind, form.sql, bound, many)
        except _Lost as lost:
            raise DBAPIError.instance(
                form.sql, bound, lost.error, dialect.loaded_dbapi.Error, connection_invalidated=True
            ) from lost.error
        except dialect.loaded_dbapi.Error as error:
            gone = dialect.is_disconnect(error, None, None)
            raise DBAPIError.instance(
                form.sql, bound, error, dialect.loaded_dbapi.Error, connection_invalidated=gone
            ) from error
        if any(form.results):
            return [
                tuple(p(v) if p else v for p, v in zip(form.results, row, strict=True))
                for row in rows
            ]
        return [tuple(row) for row in rows]


class _Lost(Exception):
    """The read's connection is gone (or none could be made): DBAPI's `error` says why."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _fetch(raw: Any, sql: str, bound: Any, many: bool) -> list[Any]:
    cursor = raw.cursor()
    try:
        cursor.execute(sql, bound)
        return cursor.fetchall() if many else cursor.fetchmany(1)  # type: ignore[no-any-return]
    finally:
        cursor.close()


def _fetch_on_own(
    engine: Engine, readers: ThreadReaders, sql: str, bound: Any, many: bool, *, again: bool = True
) -> list[Any]:
    """On the thread's own connection. One found lost (the server restarted, the engine was
    disposed) is replaced and the read run again, as the pool's pre-ping would have: a read is
    safe to repeat."""
    dialect = engine.dialect
    try:
        raw = readers.connection(engine)
    except dialect.loaded_dbapi.Error as error:  # the database cannot be reached
        raise _Lost(error) from error
    try:
        return _fetch(raw, sql, bound, many)
    except dialect.loaded_dbapi.Error as error:
        if not dialect.is_disconnect(error, raw, None):
            raise
        readers.forget()
        if not again:
            raise _Lost(error) from error
    return _fetch_on_own(engine, readers, sql, bound, many, again=False)


def _fetch_on_pooled(engine: Engine, sql: str, bound: Any, many: bool) -> list[Any]:
    """On a pooled connection of the engine, for this read only."""
    dialect = engine.dialect
    try:
        raw = engine.raw_connection()
    except dialect.loaded_dbapi.Error as error:  # the database cannot be reached
        raise _Lost(error) from error
    try:
        return _fetch(raw, sql, bound, many)
    except dialect.loaded_dbapi.Error as error:
        if dialect.is_disconnect(error, raw, None):
            raw.invalidate(error)
            raise _Lost(error) from error
        raise
    finally:
        raw.close()  # back to the pool, which rolls back whatever was begun


def reader() -> Source:
    """What the request's Prepared reads go through: its session when it has one, else the
    app's engine (or the connection sessions are bound to): no Session made for one read."""
    session: Session | None = getattr(g._get_current_object(), "db_session", None)
    if session is not None:
        return session
    bind: Engine | Connection = current_app.extensions["db"].sessionmaker.kw["bind"]
    return bind


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    # A session that never began nor took an object holds nothing: dropping it is closing it
    # (close() would still cost ~7 µs, on pages whose reads were all prepared).
    if session is not None and (session.in_transaction() or session.identity_map or session.new):
        session.close()
