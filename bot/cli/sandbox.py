"""``duban sandbox``: Duban without Telegram (bot/sandbox/): a local Bot API, the bot, a web chat, a demo county
and a movable clock; and ``duban --sandbox …`` (any command against the sandbox's data)."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from bot.cli.errors import UsageError
from bot.cli.serve import stop_on_signals
from bot.sandbox.run import open_sandbox, serve
from bot.sandbox.sandbox import Paths, environment
from config.i18n import t
from config.settings import Settings
from models.db import Database
from services.core.clock import Clock


def parse_at(value: str, settings: Settings) -> datetime:
    """``2027-06-30`` (09:00 that day) or ``2027-06-30T09:00`` in the county's time zone."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(t("sandbox.cli.bad_at", settings.locale, value=value)) from None
    if len(value) <= 10:
        at = at.replace(hour=9)
    return at if at.tzinfo else at.replace(tzinfo=settings.tz)


async def cmd_sandbox(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    await db.dispose()  # the sandbox has its own database
    lang = settings.locale
    at = parse_at(args.at, settings) if args.at else None
    sandbox = open_sandbox(Path(args.data), host=args.host, port=args.port, at=at, fresh=args.fresh,
                           database_url=args.database, locale=lang, demo=not args.empty)

    def say(key: str, params: dict) -> None:
        print(params["line"] if not key else t(key, lang, **params), flush=True)

    try:
        await serve(sandbox, stop_on_signals(), say)
    except OSError as exc:
        if exc.errno in (98, 48, 10048):  # EADDRINUSE (Linux, macOS, Windows)
            raise UsageError(t("sandbox.cli.port_busy", lang, port=args.port)) from None
        raise


def sandbox_environment(data: str) -> dict[str, str]:
    """``duban --sandbox``: the settings of the sandbox whose data is in ``data``."""
    return environment(Paths(Path(data)))


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("sandbox", help="try Duban without Telegram: a local Bot API, a web chat, a demo county")
    p.add_argument("--port", type=int, default=8090, help="the web chat's and the local Bot API's port "
                   "(default 8090; 0: any free port)")
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: this machine only)")
    p.add_argument("--data", default="data", metavar="DIR", help="where the sandbox keeps its database "
                   "(sandbox.db), evidence and chats (default: data)")
    p.add_argument("--fresh", action="store_true", help="forget the sandbox's data and build the demo county again")
    p.add_argument("--at", metavar="DATE", help="start the sandbox's clock at this instant, e.g. 2027-06-30T09:00")
    p.add_argument("--database", metavar="URL", help="another database for the sandbox (default: DIR/sandbox.db)")
    p.add_argument("--empty", action="store_true", help="no demo county: an empty database")
    p.set_defaults(func=cmd_sandbox, needs_schema=False)
