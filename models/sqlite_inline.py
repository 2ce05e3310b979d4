"""SQLite on the event loop's own thread: an aiosqlite connection whose calls run where they are made.

aiosqlite runs every call (cursor, execute, fetch, close, commit) in a thread of its own: each is a hand-off
to that thread and back, ~4 per statement, which costs far more CPU than the statement itself (bench/floor.py:
a primary-key SELECT is ~6 µs in sqlite3 and ~10× as much through the hand-off, before SQLAlchemy). Our
statements are small and SQLite answers them from memory, so here they run inline, and what could make the
thread wait is taken care of instead:

* **Writers wait on the loop, not in SQLite.** A write transaction (``BEGIN IMMEDIATE``) first takes the
  engine's writer lock, an ``asyncio.Lock`` (one per event loop: writers of this engine queue in order,
  without blocking anyone else); the lock is given back as soon as the connection is out of its transaction
  (commit, rollback, close). Writers of *another* engine or process on the same file make ``BEGIN IMMEDIATE``
  fail at once (the writer's busy timeout is 0) and it is tried again after a short sleep on the loop, for
  up to ``SQLITE_BUSY_TIMEOUT_MS`` like SQLite's own busy handler, then "database is locked" as before.
  Inside a write transaction nothing waits on other writers (the write lock is held).
* **Readers** (a ``readonly`` engine, WAL) never wait for writers; their busy timeout stays for the rare
  moments SQLite makes them (WAL recovery after a crash).

A transaction nested in another of the same engine and task waits for itself until the timeout and fails,
as it did in SQLite's busy handler; nothing in the code base does that.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import weakref
from collections.abc import Callable
from typing import Any

import aiosqlite


class _Inline:
    """Stands where aiosqlite keeps the queue to its thread: runs what is put, at once."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        if future is not None and not future.done():
            future.set_result(result)


class WriterLock:
    """One engine's writers, in order: an ``asyncio.Lock`` per event loop (an engine may be used from a
    worker thread's own loop too)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    def here(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection without its thread (see the module docstring)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], *, writers: WriterLock | None,
                 busy_timeout_ms: int) -> None:
        super().__init__(connector, 64)
        self._tx = _Inline()  # type: ignore[assignment]
        self._writers = writers
        self._busy_timeout = busy_timeout_ms / 1000
        self._held: asyncio.Lock | None = None

    def __await__(self) -> Any:
        return self._connect().__await__()  # no thread to start

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        if self._writers is not None and args and args[0] == "BEGIN IMMEDIATE":
            return await self._begin_write(fn, *args, **kwargs)
        try:
            return fn(*args, **kwargs)
        finally:
            self._release_if_done()

    async def _begin_write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        assert self._writers is not None
        lock = self._writers.here()
        if lock.locked():  # another writer of this engine: wait in line, as long as SQLite would have
            try:
                await asyncio.wait_for(lock.acquire(), self._busy_timeout)
            except TimeoutError:
                raise sqlite3.OperationalError("database is locked") from None
        else:
            await lock.acquire()  # free: taken at once, without a turn of the loop
        self._held = lock
        deadline, pause = time.monotonic() + self._busy_timeout, 0.001
        try:
            while True:
                try:
                    return fn(*args, **kwargs)
                except sqlite3.OperationalError as exc:  # another engine or process writes: wait on the loop
                    if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                        raise
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.05)
        finally:
            self._release_if_done()

    def _release_if_done(self) -> None:
        if self._held is not None and (self._connection is None or not self._connection.in_transaction):
            held, self._held = self._held, None
            held.release()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._release_if_done()


def inline_creator(path: str, *, writers: WriterLock | None, busy_timeout_ms: int) -> Callable[[], Any]:
    """SQLAlchemy's ``async_creator`` for a SQLite file on the loop's thread."""
    async def create() -> InlineConnection:
        connection = InlineConnection(lambda: sqlite3.connect(path, check_same_thread=False, isolation_level=None),
                                      writers=writers, busy_timeout_ms=busy_timeout_ms)
        return await connection
    return create
