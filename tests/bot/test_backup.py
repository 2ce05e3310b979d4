"""`duban backup` and `duban restore`: a round trip brings back exactly the state of the backup;
restoring under a running bot, without --yes or from a file that is not a backup changes nothing;
PostgreSQL without the client tools says what to install."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.serve.backup import backup, restore
from bot.serve.failover import lock_for
from models.people import Person
from tests.models.test_file_modes import mode, umask
from tests.support.factories import add_person

PG_TOOLS = shutil.which("pg_dump") is not None and shutil.which("pg_restore") is not None


async def names(db) -> list[str]:
    async with db.read_uow() as uow:
        return list((await uow.session.exec(select(Person.name).order_by(col(Person.id)))).all())


async def round_trip(cli, rig, tmp_path: Path) -> None:
    await add_person(rig.db, rig.clock, name="备份前的人")
    out = tmp_path / "backups" / "duban.backup"
    made = await cli("backup", "--out", str(out), DUBAN_LOCALE="en")
    assert made.code == 0, made.err
    assert made.out.strip() == f"Backup written to {out} ({out.stat().st_size} bytes)."
    assert mode(out) == 0o600 and mode(out.parent) == 0o700  # phone numbers: the owner's only
    await add_person(rig.db, rig.clock, name="备份后的人")
    assert await names(rig.db) == ["备份前的人", "备份后的人"]
    await rig.db.dispose()  # the test's own connections; the bot is not running
    asked = await cli("restore", str(out), DUBAN_LOCALE="en")
    assert asked.code == 1 and "run again with --yes" in asked.err
    assert await names(rig.db) == ["备份前的人", "备份后的人"]  # nothing changed without --yes
    await rig.db.dispose()
    done = await cli("restore", str(out), "--yes")
    assert done.code == 0, done.err
    assert "已用" in done.out and "恢复" in done.out
    assert await names(rig.db) == ["备份前的人"]
    # The restored database is a working one: the bot's tables take writes again.
    await add_person(rig.db, rig.clock, name="恢复后的人")
    assert await names(rig.db) == ["备份前的人", "恢复后的人"]


async def test_sqlite_backup_then_restore_brings_back_the_first_state(db_kind, cli, rig, tmp_path) -> None:
    if db_kind == "sqlite":
        await round_trip(cli, rig, tmp_path)
        return
    if PG_TOOLS:
        await round_trip(cli, rig, tmp_path)
        return
    result = await cli("backup", "--out", str(tmp_path / "x.backup"), DUBAN_LOCALE="en")
    assert result.code == 1 and result.err.strip() == "pg_dump not found: install postgresql-client"


async def test_a_backup_is_taken_while_the_bot_runs(db_kind, cli, bot, tmp_path) -> None:
    # The online backup (SQLite) and pg_dump do not stop the bot; the copy holds what was committed.
    await add_person(bot.db, bot.clock, name="在线备份")
    user = bot.fake.user(42)
    await user.send_text("/start")
    await user.wait_reply()
    out = tmp_path / "online.backup"
    result = await cli("backup", "--out", str(out))
    if db_kind == "postgres" and not PG_TOOLS:
        assert result.code == 1 and "pg_dump" in result.err
    else:
        assert result.code == 0, result.err
        assert "备份已写入" in result.out and out.stat().st_size > 0
    await user.send_text("/help")
    await user.wait_reply()  # still answering


async def test_restore_refuses_while_a_bot_holds_the_database(db_kind, cli, rig, tmp_path) -> None:
    if db_kind == "postgres" and not PG_TOOLS:
        result = await cli("restore", str(tmp_path / "x.backup"), "--yes", DUBAN_LOCALE="en")
        assert result.code == 1
        return
    await add_person(rig.db, rig.clock, name="留着")
    out = tmp_path / "b.backup"
    assert (await cli("backup", "--out", str(out))).code == 0
    await add_person(rig.db, rig.clock, name="也留着")
    running = lock_for(rig.db.url)  # what a running `duban run` holds
    assert await running.try_acquire()
    try:
        result = await cli("restore", str(out), "--yes", DUBAN_LOCALE="en")
    finally:
        await running.release()
    assert result.code == 1
    assert "A bot is running on" in result.err and "stop it before restoring. Nothing was changed." in result.err
    assert await names(rig.db) == ["留着", "也留着"]


async def test_restore_refuses_a_file_that_is_not_a_backup(cli, rig, tmp_path) -> None:
    await add_person(rig.db, rig.clock, name="原样")
    missing = await cli("restore", str(tmp_path / "nope.db"), "--yes")
    assert missing.code == 1
    if rig.settings.is_sqlite:
        junk = tmp_path / "junk.db"
        junk.write_bytes(b"not a database at all")
        result = await cli("restore", str(junk), "--yes", DUBAN_LOCALE="en")
        assert result.code == 1
        assert result.err.strip() == f"{junk} is not a Duban database backup; nothing was changed."
    assert await names(rig.db) == ["原样"]


async def test_postgresql_without_pg_dump_says_what_to_install(cli, tmp_path) -> None:
    # Runs everywhere: the tools are looked for before any connection is made.
    env = {"DUBAN_DATABASE_URL": "postgresql://duban@127.0.0.1:9/duban_lx", "PATH": str(tmp_path)}
    result = await cli("backup", "--out", str(tmp_path / "lx.backup"), DUBAN_LOCALE="en", **env)
    assert result.code == 1
    assert result.err.strip() == "pg_dump not found: install postgresql-client"
    zh = await cli("backup", "--out", str(tmp_path / "lx.backup"), **env)
    assert zh.err.strip().startswith("未找到 pg_dump：请安装 postgresql-client")
    restore = await cli("restore", str(tmp_path / "lx.backup"), "--yes", DUBAN_LOCALE="en", **env)
    assert restore.code == 1  # (no such file: said before the tools are needed)
    (tmp_path / "lx.backup").write_bytes(b"PGDMP")
    restore = await cli("restore", str(tmp_path / "lx.backup"), "--yes", DUBAN_LOCALE="en", **env)
    assert restore.err.strip() == "pg_restore not found: install postgresql-client"
    assert not (tmp_path / "lx.backup.part").exists()


async def test_backup_and_restore_one_county_of_a_counties_file(cli, rig, tmp_path) -> None:
    if not rig.settings.is_sqlite and not PG_TOOLS:
        pytest.fail("PostgreSQL tests need pg_dump and pg_restore installed")
    counties = tmp_path / "counties.toml"
    counties.write_text(f'[[county]]\ncode = "lx"\nname = "灵溪县"\ntoken_env = "TOK_LX"\n'
                        f'database_url = "{rig.db.url}"\n', encoding="utf-8")
    await add_person(rig.db, rig.clock, name="县里的人")
    out = tmp_path / "lx.backup"
    # The default database is another (empty) one: --county picks the county's database.
    other = {"DUBAN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/other.db"}
    made = await cli("backup", "--out", str(out), "--counties", str(counties), "--county", "lx", **other)
    assert made.code == 0, made.err
    await add_person(rig.db, rig.clock, name="后来的人")
    await rig.db.dispose()
    done = await cli("restore", str(out), "--yes", "--counties", str(counties), "--county", "lx", **other)
    assert done.code == 0, done.err
    assert await names(rig.db) == ["县里的人"]
    wrong = await cli("backup", "--out", str(out), "--counties", str(counties), "--county", "zz",
                      DUBAN_LOCALE="en", **other)
    assert wrong.code == 1 and wrong.err.strip() == "There is no county zz in the counties file (its counties: lx)."
    half = await cli("backup", "--out", str(out), "--county", "lx", DUBAN_LOCALE="en", **other)
    assert half.code == 1 and "--counties and --county go together" in half.err


async def test_a_backup_and_a_folder_made_for_it_are_the_owners_only_whatever_the_umask(
    db_kind, rig, tmp_path
) -> None:
    """The file is made 0600 before SQLite's copy or pg_dump writes into it, so it is never readable by others,
    even for a moment, and not only because `duban` sets its umask; a restore that makes the database does
    the same."""
    if db_kind == "postgres" and not PG_TOOLS:
        pytest.fail("PostgreSQL tests need pg_dump and pg_restore installed")
    await add_person(rig.db, rig.clock, name="有电话的人")
    out = tmp_path / "made for it" / "duban.backup"
    with umask(0o022):
        line = await backup(rig.db.url, out, "en")
    assert line.startswith("Backup written to") and mode(out) == 0o600 and mode(out.parent) == 0o700
    if rig.settings.is_sqlite:
        fresh = tmp_path / "restored" / "county.db"
        fresh.parent.mkdir()
        with umask(0o022):
            await restore(f"sqlite+aiosqlite:///{fresh}", out, "en", yes=True)
        assert mode(fresh) == 0o600
