"""Production operation from the command line: ``duban counties check``, ``duban backup``,
``duban restore`` (and ``duban migrate --counties``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.ops import CliRefusal
from bot.serve.backup import BackupError, backup, restore
from bot.serve.counties import CountiesError, load_counties
from config.i18n import t
from config.settings import Settings
from models.db import Database
from services.core.clock import Clock


async def cmd_counties_check(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    """Validate a counties file offline: one ``<code>: <field>: <problem>`` line per problem, exit 1."""
    try:
        counties = load_counties(Path(args.file))
    except CountiesError as exc:
        raise CliRefusal("\n".join(exc.problems)) from None
    for county in counties:
        print(t("counties.ok", settings.locale, code=county.code, name=county.name))
    print(t("counties.all_ok", settings.locale, count=len(counties)))


def _database_url(args: argparse.Namespace, settings: Settings) -> str:
    """DUBAN_DATABASE_URL, or with ``--counties FILE --county CODE`` that county's database."""
    if not args.counties and not args.county:
        return settings.database_url
    if not (args.counties and args.county):
        raise CliRefusal(t("backup.county_args", settings.locale))
    try:
        counties = load_counties(Path(args.counties), require_tokens=False)
    except CountiesError as exc:
        from bot.serve.counties import refusal

        raise CliRefusal(refusal(Path(args.counties), exc.problems, settings.locale)) from None
    for county in counties:
        if county.code == args.county:
            return county.database_url
    raise CliRefusal(t("backup.no_county", settings.locale, code=args.county,
                       codes=", ".join(c.code for c in counties)))


async def cmd_backup(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    try:
        print(await backup(_database_url(args, settings), Path(args.out), settings.locale))
    except BackupError as exc:
        raise CliRefusal(str(exc)) from None


async def cmd_restore(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    url = _database_url(args, settings)
    await db.dispose()  # nothing of this process may hold the database being replaced
    try:
        print(await restore(url, Path(args.file), settings.locale, yes=args.yes))
    except BackupError as exc:
        raise CliRefusal(str(exc)) from None


def _county_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--counties", metavar="FILE", help="with --county: the database of that county of this file")
    p.add_argument("--county", metavar="CODE", help="the county's code in the --counties file")


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Top-level subcommands."""
    counties = sub.add_parser("counties", help="the counties file of a deployment serving many counties")
    csub = counties.add_subparsers(dest="sub", required=True)
    p = csub.add_parser("check", help="validate a counties file offline (exit 1 listing every problem)")
    p.add_argument("file", help="the counties file (TOML)")
    p.set_defaults(func=cmd_counties_check)

    p = sub.add_parser("backup", help="write a backup of the database (SQLite backup API or pg_dump)")
    p.add_argument("--out", required=True, metavar="FILE", help="the backup file to write")
    _county_options(p)
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="replace the database with a backup (the bot must be stopped)")
    p.add_argument("file", help="a file written by duban backup")
    p.add_argument("--yes", action="store_true", help="confirm: everything in the database is replaced")
    _county_options(p)
    p.set_defaults(func=cmd_restore)
