"""SQLite statements run on the event loop's thread (models/sqlite_inline.py): writers of one engine queue on
the loop, a writer that must wait for another engine or process waits on the loop too, and meanwhile the
loop keeps serving everyone else."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func
from sqlmodel import select

from models.core import HandledUpdate
from models.db import Database
from models.migrate import upgrade


async def _migrated(tmp_path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    await upgrade(db.engine)
    return db


async def _record(db: Database, update_id: int, hold: float = 0.0) -> None:
    async with db.hot_uow() as uow:
        uow.session.add(HandledUpdate(update_id=update_id, handled_at=datetime.now(UTC)))
        await uow.session.flush()
        await asyncio.sleep(hold)  # the transaction stays open, as a step waiting on something would
        await uow.commit()


async def _count(db: Database) -> int:
    async with db.hot_read_uow() as uow:
        return (await uow.session.exec(select(func.count()).select_from(HandledUpdate))).one()


async def _longest_gap(until: asyncio.Future) -> float:
    """The longest the loop went without running a 5 ms ticker, until ``until`` is done."""
    longest, last = 0.0, time.monotonic()
    while not until.done():
        await asyncio.sleep(0.005)
        now = time.monotonic()
        longest, last = max(longest, now - last), now
    return longest


async def test_writers_of_one_engine_take_turns_without_database_is_locked(tmp_path) -> None:
    """20 writers at once, each holding its transaction open for 20 ms: all 20 rows written, none refused
    (they wait for their turn on the loop, in the order they came)."""
    db = await _migrated(tmp_path)
    try:
        await asyncio.gather(*(_record(db, i, hold=0.02) for i in range(20)))
        assert await _count(db) == 20
    finally:
        await db.dispose()


async def test_a_writer_waits_on_the_loop_while_another_process_holds_the_write_lock(tmp_path) -> None:
    """Another connection (as another process would) holds SQLite's write lock for 1 s: our write waits
    for it and then succeeds, and a read goes through meanwhile; the loop keeps running all along (inline, a
    wait in SQLite's busy handler would stop the loop for the whole second: half of it is the bound here,
    generous for a loaded machine)."""
    db = await _migrated(tmp_path)
    other = sqlite3.connect(tmp_path / "inline.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO handled_updates (update_id, handled_at) VALUES (1000, '2026-12-07 00:00:00')")
        asyncio.get_running_loop().call_later(1.0, other.execute, "COMMIT")
        started = time.monotonic()
        write = asyncio.ensure_future(_record(db, 1))
        gap_task = asyncio.ensure_future(_longest_gap(write))
        assert await _count(db) == 0  # a reader does not wait for the writer (WAL)
        await write
        assert time.monotonic() - started >= 0.95  # it did wait for the other writer
        assert await gap_task < 0.5
        assert await _count(db) == 2
    finally:
        other.close()
        await db.dispose()


async def test_a_failed_write_gives_the_writers_turn_back(tmp_path) -> None:
    """A write that fails (a duplicate id) rolls back and lets the next writer in at once."""
    db = await _migrated(tmp_path)
    try:
        await _record(db, 7)
        try:
            await _record(db, 7)
        except Exception as exc:  # the primary key refuses it
            assert "UNIQUE" in str(exc) or "IntegrityError" in type(exc).__name__
        else:
            raise AssertionError("a duplicate id was written")
        await asyncio.wait_for(_record(db, 8), 2)
        assert await _count(db) == 2
    finally:
        await db.dispose()
