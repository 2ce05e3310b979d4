"""The SQLite database holds phone numbers and drafts: the file, its -wal and -shm, and a folder made for it
are readable by their owner only, whatever the umask; a database left readable by an older version is
tightened when the bot opens it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from models.db import Database


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """The process umask set to ``mask`` (a usual 0o022 lets others read what is made) and put back."""
    before = os.umask(mask)
    try:
        yield
    finally:
        os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_database_its_wal_and_shm_and_its_folder_are_the_owners_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "county.db"
    with umask(0o022):
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            async with db.engine.begin() as conn:
                await conn.exec_driver_sql("CREATE TABLE phone (number TEXT)")
                await conn.exec_driver_sql("INSERT INTO phone VALUES ('13800000001')")
            wal, shm = path.with_name("county.db-wal"), path.with_name("county.db-shm")
            assert wal.exists() and shm.exists()  # WAL mode: both are there while a connection is open
            assert (mode(path), mode(wal), mode(shm), mode(path.parent)) == (0o600, 0o600, 0o600, 0o700)
        finally:
            await db.dispose()


async def test_a_database_readable_by_others_is_tightened_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "county.db"
    with umask(0o022):
        old = Database(f"sqlite+aiosqlite:///{path}")
        async with old.engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE phone (number TEXT)")
        await old.dispose()
        path.chmod(0o644)  # as an older version left it
        (tmp_path / "county.db-wal").write_bytes(b"")
        (tmp_path / "county.db-wal").chmod(0o644)
        db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        assert mode(path) == mode(tmp_path / "county.db-wal") == 0o600
        async with db.engine.begin() as conn:
            assert (await conn.exec_driver_sql("SELECT count(*) FROM phone")).scalar() == 0  # the same database
        assert mode(tmp_path / "county.db-shm") == 0o600
    finally:
        await db.dispose()
