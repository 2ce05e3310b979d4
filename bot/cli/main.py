"""The ``duban`` command line: one parser of every subcommand (each module of bot/cli/ adds its own) and
the one place errors become exit codes (bot/cli/errors.py). Exit codes: 0 success, 1 refused input
(all problems listed), 2 usage or configuration."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from bot.cli import assess, audit, dashboard, items, ops, people, plan, progress, sandbox, serve
from bot.cli.errors import UsageError, as_cli_error
from bot.logs import setup
from config.i18n import t
from config.settings import SettingsError, load_settings
from models.db import Database
from models.migrate import is_current
from services.core.clock import Clock, SystemClock

log = logging.getLogger("duban")


def setup_logging(level: int = logging.INFO) -> None:
    """Text lines, or JSON with DUBAN_LOG_FORMAT=json (bot/logs.py: no token, no message text)."""
    try:
        fmt = load_settings().log_format
    except SettingsError:  # reported by main() once logging is set up
        fmt = "text"
    setup(level, fmt)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="duban", description="Duban (督办): county target management bot")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--sandbox", action="store_true",
                        help="run the command against the sandbox's data (duban sandbox) instead of the settings")
    parser.add_argument("--sandbox-data", default="data", metavar="DIR", help="the sandbox's --data (default: data)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve.add_parsers(sub)
    plan.add_parsers(sub)
    people.add_parsers(sub)
    ops.add_parsers(sub)
    assess.add_parsers(sub)
    progress.add_parsers(sub)
    audit.add_parsers(sub)
    items.add_parsers(sub)
    dashboard.add_parsers(sub)
    sandbox.add_parsers(sub)
    return parser


async def _main(args: argparse.Namespace, settings, clock: Clock | None) -> None:  # type: ignore[no-untyped-def]
    db = Database(settings.database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)
    try:
        if getattr(args, "needs_schema", True) and not await is_current(db.engine):
            raise UsageError(t("cli.not_migrated", settings.locale))
        await args.func(args, settings, db, clock or SystemClock(settings.tz))
    finally:
        await db.dispose()


def main(argv: list[str] | None = None, *, clock: Clock | None = None) -> int:
    """Run one command; ``clock`` (the system's by default) is what "now" means to it."""
    # Whatever Duban writes (database, backups, evidence, workbooks with phone numbers) is its user's only,
    # however it was started (the systemd unit sets UMask=0077 too); put back for a caller in the same process.
    umask = os.umask(0o077)
    try:
        return _run(argv, clock)
    finally:
        os.umask(umask)


def _run(argv: list[str] | None, clock: Clock | None) -> int:
    args = build_parser().parse_args(argv)
    if args.sandbox:
        os.environ.update(sandbox.sandbox_environment(args.sandbox_data))
    setup_logging(logging.DEBUG if args.verbose else logging.INFO)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"duban: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_main(args, settings, clock))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        error = as_cli_error(exc, settings.locale)
        if error is None:
            raise
        print(error.line(), file=sys.stderr)
        return error.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
