"""Engine, session factory and the unit of work. Built by bootstrap, never at import."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from models.sqlite_inline import WriterLock, inline_creator

SQLITE_BUSY_TIMEOUT_MS = 30_000
OWNER_ONLY = 0o600  # the database holds phone numbers and drafts: its owner alone reads it

log = logging.getLogger("duban")


def _prepare_sqlite_file(url: str) -> None:
    """The database file made before SQLite opens it, readable by its owner only (a new folder too). SQLite
    gives its -wal and -shm files the database file's mode; a database left readable by an older version
    is tightened, with its -wal and -shm."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return
    path = Path(database).expanduser()
    if not path.parent.is_dir():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY))  # empty: a new database
    except FileExistsError:
        pass
    except OSError:
        return  # SQLite says what is wrong when it opens the file
    for file in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        try:
            if file.exists() and file.stat().st_mode & 0o077:
                file.chmod(OWNER_ONLY)
        except OSError as exc:  # not ours to change (another owner): say so, and go on
            log.warning("cannot make %s readable by its owner only: %s", file, exc.strerror or exc)


def make_engine(url: str, *, readonly: bool = False, inline: bool = False, **kwargs: Any) -> AsyncEngine:
    """An engine. On SQLite: WAL, a busy timeout, kept connections, and ``BEGIN IMMEDIATE`` for every
    transaction (writers queue at the start instead of failing with "database is locked" halfway);
    a ``readonly`` engine begins deferred and refuses writes, so reads never wait for the write lock;
    an ``inline`` engine (a file) runs its statements on the event loop's thread (models/sqlite_inline.py):
    for the hot path's small transactions only, since a long query there would hold the loop."""
    if url.startswith("sqlite"):
        _prepare_sqlite_file(url)
        path = make_url(url).database
        memory = path in (None, "", ":memory:")
        creator = {} if memory or not inline else {"async_creator": inline_creator(
            str(Path(path).expanduser()), writers=None if readonly else WriterLock(),
            busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS)}
        engine = create_async_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **({"poolclass": NullPool} if memory else {"pool_size": 4, "max_overflow": 8}), **creator, **kwargs,
        )
        # An inline writer never waits inside SQLite: its BEGIN IMMEDIATE is retried on the loop instead.
        busy_ms = 0 if creator and not readonly else SQLITE_BUSY_TIMEOUT_MS

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Take transaction control from the driver so that we can say BEGIN IMMEDIATE.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            if readonly:
                cursor.execute("PRAGMA query_only=ON")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False, autoflush=False)


AFTER_COMMIT = "duban_after_commit"


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Call ``callback`` once the transaction of ``session`` has committed through ``UnitOfWork.commit``
    (never if it rolls back): e.g. "this update's id is recorded", "something was queued in the outbox"."""
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


class UnitOfWork:
    """One transaction: ``async with uow: ...; await uow.commit()``. Leaving without commit rolls back."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = session_factory
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        if self._session is not None:
            raise RuntimeError("unit of work is not re-entrant")
        self._session = self._factory()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        # close() ends any transaction not committed (a rollback) and detaches the objects read,
        # keeping their loaded values; an explicit rollback first would expire them.
        session.info.pop(AFTER_COMMIT, None)  # not committed (or told already): nobody is told
        try:
            if exc is not None:
                await session.rollback()
        finally:
            await session.close()

    async def commit(self) -> None:
        """Commit; then run what the transaction asked to be told of its commit (``after_commit``)."""
        session = self.session
        await session.commit()
        for callback in session.info.pop(AFTER_COMMIT, ()):
            callback()

    async def rollback(self) -> None:
        await self.session.rollback()


class Database:
    """The engine and session factory of one county's database."""

    def __init__(self, url: str, *, pool_size: int = 5, max_overflow: int = 5) -> None:
        """``pool_size``/``max_overflow`` bound the PostgreSQL connections of this county's database in
        this process (many counties share one server: see DUBAN_DB_POOL_SIZE in the README)."""
        self.url = url
        pool = {} if url.startswith("sqlite") else {"pool_size": pool_size, "max_overflow": max_overflow}
        self.engine = make_engine(url, **pool)
        self.session_factory = make_session_factory(self.engine)
        self.read_engine = make_engine(url, readonly=True) if url.startswith("sqlite") else self.engine
        self.read_session_factory = make_session_factory(self.read_engine)
        # The hot path (the gate, a dialogue's step): on SQLite, engines whose statements run on the loop's
        # thread, without aiosqlite's hand-offs; their transactions are a handful of small statements.
        sqlite = url.startswith("sqlite")
        self.hot_engine = make_engine(url, inline=True) if sqlite else self.engine
        self.hot_read_engine = make_engine(url, readonly=True, inline=True) if sqlite else self.engine
        self.hot_session_factory = make_session_factory(self.hot_engine)
        self.hot_read_session_factory = make_session_factory(self.hot_read_engine)

    def uow(self) -> UnitOfWork:
        """A transaction that may write."""
        return UnitOfWork(self.session_factory)

    def read_uow(self) -> UnitOfWork:
        """A transaction that only reads (on SQLite it does not take the write lock)."""
        return UnitOfWork(self.read_session_factory)

    def hot_uow(self) -> UnitOfWork:
        """A small transaction that may write, on the hot path (a dialogue's step): on SQLite it runs on the
        event loop's thread. Nothing that reads a county's worth of rows goes here."""
        return UnitOfWork(self.hot_session_factory)

    def hot_read_uow(self) -> UnitOfWork:
        """A small read on the hot path (the gate's): on SQLite on the event loop's thread."""
        return UnitOfWork(self.hot_read_session_factory)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.session_factory() as session:
            yield session

    async def dispose(self) -> None:
        for engine in {self.engine, self.read_engine, self.hot_engine, self.hot_read_engine}:
            await engine.dispose()
