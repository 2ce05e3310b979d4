"""Which process is a county's active bot: a lock per county database.

- PostgreSQL: a session advisory lock, ``pg_try_advisory_lock(LOCK_KEY)``, held on a dedicated,
  long-lived asyncpg connection to the county's own database. Every county has its own database, so
  one constant key per database is enough (and any Duban process on that database, a single-county
  ``duban run`` included, competes for the same lock). The lock lives exactly as long as the
  connection: a holder killed with ``kill -9`` has its socket closed by the kernel and PostgreSQL
  frees the lock at once. The holder checks its connection every ``keepalive`` seconds
  (``SELECT 1`` with a timeout); when that fails the lock counts as lost and the county must stop at
  once. The lock connection asks the server for TCP keepalives (5 s idle, 2 s interval, 3 probes),
  so after a network split the server frees the lock about 11 s later, by which time the cut-off
  holder has already stopped (it notices within ``keepalive + timeout`` = 5 s): never two active.
- SQLite: an exclusive ``flock`` on ``<database file>.lock``. It works between processes of one
  machine only (the only way SQLite is meant to be used); the kernel drops it when the process dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

# One constant key per database: 64 bits of a hash of a fixed text.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"duban: the active bot of this database").digest()[:8], "big", signed=True)
KEEPALIVE_INTERVAL = 2.0
KEEPALIVE_TIMEOUT = 3.0
CONNECT_TIMEOUT = 5.0


class Lock:
    """``await try_acquire()`` once (True: held); ``lost`` is set if a held lock is lost;
    ``await release()`` gives it up (also safe when not held)."""

    def __init__(self) -> None:
        self.lost = asyncio.Event()
        self.held = False

    async def try_acquire(self) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    async def release(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__


class NullLock(Lock):
    """An in-memory SQLite database: nothing else can reach it, so there is nothing to lock."""

    async def try_acquire(self) -> bool:
        self.held = True
        return True

    async def release(self) -> None:
        self.held = False


class FileLock(Lock):
    """An exclusive ``flock`` on a file (SQLite: ``<db file>.lock``)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._fd: int | None = None

    def describe(self) -> str:
        return f"flock {self.path}"

    async def try_acquire(self) -> bool:
        if self.held:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        # Who holds it, for a curious operator (the lock is the flock, not this text).
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        self.held = True
        self.lost.clear()
        return True

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        self.held = False
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def pg_dsn(url: str) -> str:
    """A libpq/asyncpg DSN for a SQLAlchemy ``postgresql+asyncpg://`` URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgLock(Lock):
    """A session advisory lock on a dedicated connection to the county's database."""

    def __init__(self, url: str, *, key: int = LOCK_KEY, keepalive: float = KEEPALIVE_INTERVAL,
                 timeout: float = KEEPALIVE_TIMEOUT) -> None:
        super().__init__()
        self.url = url
        self.key = key
        self.keepalive = keepalive
        self.timeout = timeout
        self._conn: Any = None
        self._watch: asyncio.Task[None] | None = None

    def describe(self) -> str:
        u = make_url(self.url)
        return f"pg_advisory_lock on {u.host or 'localhost'}/{u.database}"

    async def _connect(self) -> Any:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(
                pg_dsn(self.url), timeout=CONNECT_TIMEOUT,
                server_settings={"application_name": "duban-lock", "tcp_keepalives_idle": "5",
                                 "tcp_keepalives_interval": "2", "tcp_keepalives_count": "3"},
            )
        return self._conn

    async def try_acquire(self) -> bool:
        """One attempt. A standby keeps its connection between attempts (no reconnect churn)."""
        if self.held:
            return True
        try:
            conn = await self._connect()
            got = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key, timeout=self.timeout))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.warning("%s: cannot try the lock: %s", self.describe(), exc)
            await self._close()
            return False
        if got:
            self.held = True
            self.lost.clear()
            self._watch = asyncio.create_task(self._keepalive(), name="duban-lock-keepalive")
        return got

    async def _keepalive(self) -> None:
        conn = self._conn
        try:
            while True:
                await asyncio.sleep(self.keepalive)
                await conn.fetchval("SELECT 1", timeout=self.timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("%s: the lock connection failed (%s): the lock is lost", self.describe(), exc)
            self.held = False
            self.lost.set()
            await self._close()

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), self.timeout)
            except Exception:
                conn.terminate()

    async def release(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None and watch is not asyncio.current_task():
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        self.held = False
        await self._close()  # ending the session frees the lock


def lock_for(database_url: str) -> Lock:
    """The lock of the database at ``database_url``."""
    u = make_url(database_url)
    if u.drivername.startswith("sqlite"):
        if not u.database or u.database == ":memory:":
            return NullLock()
        db_file = Path(u.database).expanduser()
        return FileLock(db_file.with_name(db_file.name + ".lock"))
    return PgLock(database_url)


async def acquire_or_stop(lock: Lock, stop_event: asyncio.Event, *, retry: float = 2.0,
                          on_standby: Any = None) -> bool:
    """Try every ``retry`` seconds until the lock is held (True) or ``stop_event`` is set (False).
    ``on_standby()`` is called once, after the first failed attempt."""
    told = False
    while not stop_event.is_set():
        if await lock.try_acquire():
            return True
        if not told and on_standby is not None:
            on_standby()
            told = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop_event.wait(), retry)
    return False
