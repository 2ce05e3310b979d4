"""Running and operating the bot from the command line: ``duban migrate``, ``duban run``, ``duban counties
check``, ``duban backup`` and ``duban restore``."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from bot.cli.errors import Refused
from bot.serve.backup import backup, restore
from bot.serve.counties import load_counties
from bot.serve.errors import CountiesError
from bot.serve.runner import run_counties, run_single
from bot.serve.webhook import check_webhook, run_webhook
from config.i18n import t
from config.settings import Settings
from models.db import Database
from models.migrate import upgrade
from services.core.clock import Clock


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM."""
    stop_event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_event.set)
    return stop_event


async def cmd_migrate(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    if args.counties:
        await migrate_counties(Path(args.counties), settings)
        return
    await upgrade(db.engine)
    print(t("cli.migrated", settings.locale))


async def migrate_counties(path: Path, settings: Settings) -> None:
    """``duban migrate --counties FILE``: bring every county's database to the newest schema, one line per
    county; refuses (exit 1, every problem) when the file is invalid, and exits 1 after trying them all
    when a database could not be migrated."""
    lang = settings.locale
    counties = load_counties(path, require_tokens=False)
    failed: list[str] = []
    for county in counties:
        db: Database | None = None
        try:
            db = Database(county.database_url)
            await upgrade(db.engine)
        except Exception as exc:  # one county's database being down must not stop the others
            failed.append(t("counties.migrate_failed", lang, code=county.code, error=_one_line(exc)))
            continue
        finally:
            if db is not None:
                await db.dispose()
        print(t("counties.migrated", lang, code=county.code, name=county.name), flush=True)
    if failed:
        raise Refused("\n".join(failed))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


async def cmd_run(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    if args.counties:
        await run_counties(Path(args.counties), settings, webhook_url=args.webhook, stop_event=stop_on_signals())
        return
    settings.require_token()
    if args.webhook:
        check_webhook(settings, args.webhook)  # a missing secret or a bad URL: refused before anything starts
    await upgrade(db.engine)
    if args.webhook:
        await run_webhook(settings, db, clock, args.webhook, stop_event=stop_on_signals())
        return
    # Polling, while this process holds the database's lock (bot/serve/failover.py): a second `duban run`
    # on the same database waits as a standby instead of polling too.
    await run_single(settings, db, clock, stop_event=stop_on_signals())


async def cmd_counties_check(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    """Validate a counties file offline: one ``<code>: <field>: <problem>`` line per problem, exit 1."""
    try:
        counties = load_counties(Path(args.file))
    except CountiesError as exc:
        raise Refused("\n".join(exc.problems)) from None
    for county in counties:
        print(t("counties.ok", settings.locale, code=county.code, name=county.name))
    print(t("counties.all_ok", settings.locale, count=len(counties)))


def _database_url(args: argparse.Namespace, settings: Settings) -> str:
    """DUBAN_DATABASE_URL, or with ``--counties FILE --county CODE`` that county's database."""
    if not args.counties and not args.county:
        return settings.database_url
    if not (args.counties and args.county):
        raise Refused(t("backup.county_args", settings.locale))
    counties = load_counties(Path(args.counties), require_tokens=False)
    for county in counties:
        if county.code == args.county:
            return county.database_url
    raise Refused(t("backup.no_county", settings.locale, code=args.county, codes=", ".join(c.code for c in counties)))


async def cmd_backup(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    print(await backup(_database_url(args, settings), Path(args.out), settings.locale))


async def cmd_restore(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    url = _database_url(args, settings)
    await db.dispose()  # nothing of this process may hold the database being replaced
    print(await restore(url, Path(args.file), settings.locale, yes=args.yes))


def _county_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--counties", metavar="FILE", help="with --county: the database of that county of this file")
    p.add_argument("--county", metavar="CODE", help="the county's code in the --counties file")


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Top-level subcommands."""
    p = sub.add_parser("migrate", help="create or upgrade the database")
    p.add_argument("--counties", metavar="FILE", help="migrate every county's database listed in this counties file")
    p.set_defaults(func=cmd_migrate, needs_schema=False)
    p = sub.add_parser("run", help="migrate, then run the bot (polling unless --webhook)")
    p.add_argument("--webhook", metavar="URL", help="serve a webhook at this public URL (e.g. https://example.org/duban)")
    p.add_argument("--counties", metavar="FILE", help="serve every county of this counties file (TOML)")
    p.set_defaults(func=cmd_run, needs_schema=False)

    counties = sub.add_parser("counties", help="the counties file of a deployment serving many counties")
    csub = counties.add_subparsers(dest="sub", required=True)
    p = csub.add_parser("check", help="validate a counties file offline (exit 1 listing every problem)")
    p.add_argument("file", help="the counties file (TOML)")
    p.set_defaults(func=cmd_counties_check, needs_schema=False)

    p = sub.add_parser("backup", help="write a backup of the database (SQLite backup API or pg_dump)")
    p.add_argument("--out", required=True, metavar="FILE", help="the backup file to write")
    _county_options(p)
    p.set_defaults(func=cmd_backup, needs_schema=False)

    p = sub.add_parser("restore", help="replace the database with a backup (the bot must be stopped)")
    p.add_argument("file", help="a file written by duban backup")
    p.add_argument("--yes", action="store_true", help="confirm: everything in the database is replaced")
    _county_options(p)
    p.set_defaults(func=cmd_restore, needs_schema=False)
