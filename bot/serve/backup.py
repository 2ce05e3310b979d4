"""``duban backup`` and ``duban restore``.

SQLite: the online backup API (a consistent copy while the bot runs), and back the same way after
proving with the database's lock (bot/serve/failover.py) that no bot is using it. PostgreSQL: ``pg_dump
--format=custom`` and ``pg_restore --clean --if-exists`` from the PostgreSQL client tools, with a
clear error when they are not installed. The password, if any, goes to the tools through
``PGPASSWORD``, never on their command line. A backup holds phone numbers and drafts: its file is made
readable by its owner only before anything is written into it (and a new folder, by its owner only).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.serve.errors import BackupError
from bot.serve.failover import lock_for
from config.i18n import t

SQLITE_MAGIC = b"SQLite format 3\x00"
OWNER_ONLY = 0o600


def _private_file(path: Path) -> None:
    """An empty file at ``path`` only its owner may read or write (pg_dump and SQLite keep the mode of a file
    they write into)."""
    path.unlink(missing_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY))


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory database cannot be backed up")
    return Path(database).expanduser()


def _pg_target(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment carrying it."""
    u = make_url(url).set(drivername="postgresql")
    env = dict(os.environ)
    if u.password is not None:
        env["PGPASSWORD"] = str(u.password)
        u = u.set(password=None)
    return u.render_as_string(hide_password=False), env


def _tool(name: str, lang: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(t("backup.no_tool", lang, tool=name))
    return path


async def _run_tool(argv: list[str], env: dict[str, str], lang: str) -> None:
    result = await asyncio.to_thread(subprocess.run, argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line for line in (result.stderr or "").strip().splitlines() if line.strip()]
        raise BackupError(t("backup.tool_failed", lang, tool=Path(argv[0]).name, code=result.returncode,
                            error=" / ".join(lines[-3:]) or "-"))


def _sqlite_copy(source: Path, target: Path) -> None:
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _duban_revision(path: Path) -> str | None:
    """The schema revision of a Duban SQLite database file, None if it is not one."""
    try:
        with path.open("rb") as f:
            if f.read(16) != SQLITE_MAGIC:
                return None
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except (OSError, sqlite3.Error):
        return None
    return row[0] if row else None


async def backup(url: str, out: Path, lang: str) -> str:
    """Write a backup of the database at ``url`` to ``out``; returns the line to print."""
    if not out.parent.is_dir():
        out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        source = _sqlite_file(url)
        if not source.is_file():
            raise BackupError(t("backup.no_database", lang, path=str(source)))
        part = out.with_name(out.name + ".part")
        _private_file(part)
        try:
            await asyncio.to_thread(_sqlite_copy, source, part)
            part.replace(out)
        finally:
            part.unlink(missing_ok=True)
    else:
        pg_dump = _tool("pg_dump", lang)
        target, env = _pg_target(url)
        _private_file(out)
        await _run_tool([pg_dump, "--format=custom", "--no-owner", f"--file={out}", f"--dbname={target}"], env, lang)
    return t("backup.written", lang, path=str(out), size=out.stat().st_size)  # noqa: ASYNC240


async def restore(url: str, source: Path, lang: str, *, yes: bool) -> str:
    """Replace the database at ``url`` with the backup ``source``; returns the line to print."""
    if not source.is_file():  # noqa: ASYNC240 (one stat of a local file)
        raise BackupError(t("cli.no_file", lang, path=str(source)))
    sqlite = url.startswith("sqlite")
    if sqlite:
        target = _sqlite_file(url)
        if _duban_revision(source) is None:
            raise BackupError(t("restore.not_a_backup", lang, path=str(source)))
        where = str(target)
    else:
        pg_restore = _tool("pg_restore", lang)
        where = make_url(url).database or "?"
    if not yes:
        raise BackupError(t("restore.confirm", lang, database=where, path=str(source)))
    lock = lock_for(url)
    if not await lock.try_acquire():
        await lock.release()
        raise BackupError(t("restore.bot_running", lang, database=where))
    try:
        if sqlite:
            if not target.exists():
                _private_file(target)
            await asyncio.to_thread(_sqlite_copy, source, target)
        else:
            pg_target, env = _pg_target(url)
            await _run_tool([pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction",
                             f"--dbname={pg_target}", str(source)], env, lang)
    finally:
        await lock.release()
    return t("restore.done", lang, database=where, path=str(source))
