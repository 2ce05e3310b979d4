"""The ``duban`` command line. Exit codes: 0 success, 1 refused input (all problems listed),
2 usage or configuration."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.cli import assess, ops, prod
from config.i18n import t
from config.settings import Settings, SettingsError, load_settings
from models.db import Database
from models.enums import Role, parse_enum
from models.migrate import upgrade
from services.core import kv
from services.core.clock import Clock, SystemClock
from services.core.errors import DomainError
from services.people import invite, viewer

log = logging.getLogger("duban")


class UsageError(Exception):
    """Exit 2 with this line."""


class Refused(Exception):
    """Exit 1 with this text (every problem listed)."""


Command = Callable[[argparse.Namespace, Settings, Database, Clock], Awaitable[None]]


def setup_logging(level: int = logging.INFO) -> None:
    """Text lines, or JSON with DUBAN_LOG_FORMAT=json (bot/logs.py: no token, no message text)."""
    from bot.logs import setup

    try:
        fmt = load_settings().log_format
    except SettingsError:  # reported by main() once logging is set up
        fmt = "text"
    setup(level, fmt)


# --- migrate / run ---------------------------------------------------------------------------------

async def cmd_migrate(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    if args.counties:
        from bot.serve.counties import migrate_counties

        await migrate_counties(Path(args.counties), settings)
        return
    await upgrade(db.engine)
    print(t("cli.migrated", settings.locale))


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM."""
    stop_event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_event.set)
    return stop_event


async def cmd_run(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    if args.counties:
        from bot.serve.runner import run_counties

        await run_counties(Path(args.counties), settings, webhook_url=args.webhook, stop_event=stop_on_signals())
        return
    settings.require_token()
    if args.webhook:
        from bot.serve.webhook import check_webhook

        check_webhook(settings, args.webhook)  # a missing secret or a bad URL: refused before anything starts
    await upgrade(db.engine)
    if args.webhook:
        from bot.serve.webhook import run_webhook

        await run_webhook(settings, db, clock, args.webhook, stop_event=stop_on_signals())
        return
    # Polling, while this process holds the database's lock (bot/serve/failover.py): a second `duban run`
    # on the same database waits as a standby instead of polling too.
    from bot.serve.runner import run_single

    await run_single(settings, db, clock, stop_event=stop_on_signals())


# --- plan ------------------------------------------------------------------------------------------

async def cmd_plan_template(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    from services.plan.workbook import write_template

    write_template(Path(args.out))
    print(t("cli.written", settings.locale, path=args.out))


async def cmd_plan_import(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    from services.plan.importer import import_plan, render_report

    path = Path(args.file)
    if not path.is_file():  # noqa: ASYNC240 (one stat of a local file)
        raise UsageError(t("cli.no_file", settings.locale, path=args.file))
    report = await import_plan(path, db_uow=db.uow(), clock=clock, actor="cli", dry_run=args.dry_run,
                               prune=args.prune)
    text = render_report(report, settings.locale)
    if not report.ok:
        raise Refused(text)
    print(text)


async def cmd_plan_export(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    from services.plan.export import export_plan

    await export_plan(Path(args.out), db_uow=db.uow())
    print(t("cli.written", settings.locale, path=args.out))


# --- invitations -----------------------------------------------------------------------------------

async def _known_username(settings: Settings, db: Database) -> str | None:
    return settings.bot_username or await kv.get(kv.BOT_USERNAME, uow=db.uow())


async def bot_username(settings: Settings, db: Database, clock: Clock) -> str:
    """DUBAN_BOT_USERNAME, else the one learned before, else getMe through the configured Bot API."""
    known = await _known_username(settings, db)
    if known:
        return known
    from telegram import Bot
    from telegram.error import TelegramError

    if settings.token is None:
        raise UsageError(t("cli.no_username", settings.locale))
    try:
        async with Bot(settings.token.get_secret_value(), base_url=settings.bot_api_base_url,
                       base_file_url=settings.bot_api_file_url) as bot:
            username = bot.username
    except (TelegramError, OSError) as exc:
        log.debug("getMe failed: %s", exc)
        raise UsageError(t("cli.no_username", settings.locale)) from None
    await kv.put(kv.BOT_USERNAME, username, uow=db.uow(), clock=clock)
    return username


def _ttl(text: str) -> object:
    try:
        return invite.parse_ttl(text)
    except ValueError:
        raise argparse.ArgumentTypeError("use a number with d, h or m, e.g. 14d or 48h") from None


async def cmd_invite_create(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    try:
        role = parse_enum(Role, args.role)
    except ValueError:
        raise UsageError(t("invite.bad_role", settings.locale, value=args.role)) from None
    if role in invite.UNIT_ROLES and args.unit is None:
        raise UsageError(t("invite.unit_required", settings.locale, role=role.value))
    username = await bot_username(settings, db, clock)
    codes = await invite.create(role, unit_code=args.unit, person_code=args.person, count=args.count,
                                     ttl=args.expires, actor="cli", uow=db.uow(), clock=clock)
    for code in codes:
        print(invite.link(username, code))


async def cmd_invite_export(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    from services.people.invite_sheet import write_invites

    username = await bot_username(settings, db, clock)
    rows = await invite.create_for_unjoined(ttl=args.expires, actor="cli", uow=db.uow(), clock=clock)
    write_invites(Path(args.out), rows, username, settings.locale, settings.tz)
    print(t("cli.invites_exported", settings.locale, count=len(rows), path=args.out))


async def cmd_invite_list(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    rows = await invite.list_all(uow=db.uow(), clock=clock)
    lang = settings.locale
    print("\t".join(t(f"cli.invite_col.{c}", lang) for c in
                    ("id", "role", "unit", "person", "expires", "status", "used_by")))
    for r in rows:
        print("\t".join([str(r.id), r.role, r.unit_code or "-", r.person_code or "-",
                         r.expires_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M"),
                         t(f"invite.status.{r.status}", lang), r.used_by or "-"]))


async def cmd_invite_revoke(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    await invite.revoke(args.code, actor="cli", uow=db.uow(), clock=clock)
    print(t("cli.revoked", settings.locale))


# --- people ----------------------------------------------------------------------------------------

async def cmd_person_deactivate(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    changed = await viewer.deactivate(args.code, actor="cli", uow=db.uow(), clock=clock)
    print(t("cli.deactivated" if changed else "cli.already_inactive", settings.locale, code=args.code))


async def cmd_person_move(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    changed = await viewer.move(args.code, args.unit, actor="cli", uow=db.uow(), clock=clock)
    print(t("cli.moved" if changed else "cli.unchanged", settings.locale, code=args.code, unit=args.unit))


# --- progress --------------------------------------------------------------------------------------

async def cmd_progress_export(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    import re
    from datetime import date

    from services.core.clock import today
    from services.progress.export import export_progress

    if args.as_of is None:
        as_of = today(clock)
    else:
        m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", args.as_of.strip())
        try:
            if m is None:
                raise ValueError(args.as_of)
            as_of = date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise UsageError(t("progress.export.bad_date", settings.locale, value=args.as_of)) from None
    count = await export_progress(Path(args.out), db_uow=db.uow(), as_of=as_of, tz=settings.tz,
                                  lang=settings.locale)
    print(t("progress.export.written", settings.locale, count=count, path=args.out, date=as_of.isoformat()))


# --- parser ----------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="duban", description="Duban (督办): county target management bot")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("migrate", help="create or upgrade the database")
    p.add_argument("--counties", metavar="FILE", help="migrate every county's database listed in this counties file")
    p.set_defaults(func=cmd_migrate)
    p = sub.add_parser("run", help="migrate, then run the bot (polling unless --webhook)")
    p.add_argument("--webhook", metavar="URL", help="serve a webhook at this public URL (e.g. https://example.org/duban)")
    p.add_argument("--counties", metavar="FILE", help="serve every county of this counties file (TOML)")
    p.set_defaults(func=cmd_run)

    plan = sub.add_parser("plan", help="the yearly plan workbook").add_subparsers(dest="sub", required=True)
    p = plan.add_parser("template", help="write an empty plan workbook with examples")
    p.add_argument("--out", required=True, help="path of the .xlsx to write")
    p.set_defaults(func=cmd_plan_template)
    p = plan.add_parser("import", help="validate and load a plan workbook (all or nothing)")
    p.add_argument("file", help="the .xlsx")
    p.add_argument("--dry-run", action="store_true", help="validate and report, write nothing")
    p.add_argument("--prune", action="store_true",
                   help="remove (people, units: deactivate) what the file no longer lists")
    p.set_defaults(func=cmd_plan_import)
    p = plan.add_parser("export", help="write the plan as a workbook")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_plan_export)

    inv = sub.add_parser("invite", help="invitation links").add_subparsers(dest="sub", required=True)
    p = inv.add_parser("create", help="print invitation links, one per line")
    p.add_argument("--role", required=True, help="admin, leader, cadre, inspector or assessor")
    p.add_argument("--unit", help="unit code (required for cadre and assessor)")
    p.add_argument("--person", help="bind to this imported person")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--expires", type=_ttl, default=invite.DEFAULT_TTL, help="e.g. 14d (default) or 48h")
    p.set_defaults(func=cmd_invite_create)
    p = inv.add_parser("export", help="a workbook with one link per imported person not yet joined")
    p.add_argument("--out", required=True)
    p.add_argument("--expires", type=_ttl, default=invite.DEFAULT_TTL)
    p.set_defaults(func=cmd_invite_export)
    inv.add_parser("list", help="all invitations and their state").set_defaults(func=cmd_invite_list)
    p = inv.add_parser("revoke", help="revoke an unused invitation")
    p.add_argument("code", help="the code, i_<code> or the whole link")
    p.set_defaults(func=cmd_invite_revoke)

    ops.add_parsers(sub)
    assess.add_parsers(sub)
    prod.add_parsers(sub)

    person = sub.add_parser("person", help="people").add_subparsers(dest="sub", required=True)
    p = person.add_parser("deactivate", help="end a person's access at once (history kept)")
    p.add_argument("code")
    p.set_defaults(func=cmd_person_deactivate)
    p = person.add_parser("move", help="move a person to another unit")
    p.add_argument("code")
    p.add_argument("--unit", required=True)
    p.set_defaults(func=cmd_person_move)

    progress = sub.add_parser("progress", help="progress of the assignments").add_subparsers(dest="sub", required=True)
    p = progress.add_parser("export", help="every assignment's standing as of a date, as a workbook")
    p.add_argument("--as-of", help="YYYY-MM-DD (default: today in DUBAN_TIMEZONE)")
    p.add_argument("--out", required=True, help="path of the .xlsx to write")
    p.set_defaults(func=cmd_progress_export)
    return parser


async def _main(args: argparse.Namespace, settings: Settings) -> None:
    db = Database(settings.database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)
    try:
        await args.func(args, settings, db, SystemClock(settings.tz))
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(logging.DEBUG if args.verbose else logging.INFO)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"duban: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_main(args, settings))
    except SettingsError as exc:
        print(f"duban: {exc}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"duban: {exc}", file=sys.stderr)
        return 2
    except (Refused, ops.CliRefusal) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except argparse.ArgumentTypeError as exc:
        print(f"duban: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"duban: {t(exc.key, settings.locale, **exc.params)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
