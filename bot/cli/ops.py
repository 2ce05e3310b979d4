"""Command-line operations of the scheduler and the calendar: ``duban jobs tick``, ``duban calendar load``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from bot.app.jobs import rules, scheduled_work
from bot.cli.errors import Refused
from config.i18n import t
from config.settings import Settings
from models.db import Database
from services.alerts import tick
from services.calendar.schedule import load_schedule, render_result
from services.core.clock import Clock
from services.inspection.notice import cli_text, draft_for_cli


def parse_at(text: str | None, settings: Settings, clock: Clock) -> datetime:
    """``--at`` as an aware time; without an offset it is read in DUBAN_TIMEZONE."""
    if not text:
        return clock.now()
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(t("cli.bad_at", settings.locale, value=text)) from None
    # The tick reads days and hours in the county's zone, whatever offset the instant was given in.
    return moment.astimezone(settings.tz) if moment.tzinfo else moment.replace(tzinfo=settings.tz)


async def cmd_jobs_tick(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    """One scheduler tick at ``--at`` (default now), exactly as the running bot would do it (``--dry-run``:
    rolled back, each person's push printed as it would be sent; the weekly digest is not part of a dry run).
    A real tick may not be at a later instant than now."""
    moment = parse_at(args.at, settings, clock)
    if not args.dry_run and moment > clock.now():
        # Alerts written for a future instant would be resolved by the running bot's own tick at the real
        # time, and their pushes would go out now: only a dry run may look ahead.
        raise Refused(t("cli.tick_future", settings.locale, at=moment.isoformat(timespec="minutes")))
    if args.dry_run:
        result = await tick.tick(moment, uow=db.uow(), rules=rules(settings), dry_run=True)
        for push in result.pushes:  # each person's one push, as it would be sent
            print(json.dumps({"person": push.person, "chat_id": push.chat_id, "alerts": push.alerts,
                              "text": push.text, "buttons": [b["text"] for row in push.markup["inline_keyboard"]
                                                             for b in row]}, ensure_ascii=False))
        for kind, level, key in result.unheard:
            print(json.dumps({"person": None, "chat_id": None, "kind": kind, "level": level, "key": key,
                              "not_joined": True}, ensure_ascii=False))
        if result.unheard:
            print(t("cli.tick_unheard", settings.locale, count=len(result.unheard)), file=sys.stderr)
        return
    result, digests = await scheduled_work(moment, db=db, settings=settings, clock=clock)
    print(t("cli.ticked", settings.locale, at=moment.isoformat(timespec="minutes"), alerts=result.alerts_created,
            escalated=result.escalated, messages=result.outbox_rows))
    if digests:
        print(t("cli.digests", settings.locale, count=digests))


async def cmd_calendar_load(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    """Load a year's official working-day schedule (TOML) that wins over the built-in calendar."""
    path = Path(args.file)
    if not path.is_file():  # noqa: ASYNC240 (one stat of a local file)
        raise Refused(t("cli.no_file", settings.locale, path=args.file))
    result = await load_schedule(path.read_bytes(), actor="cli", uow=db.uow(), clock=clock)  # noqa: ASYNC240
    text = render_result(result, settings.locale)
    if not result.ok:
        raise Refused(text)
    print(text)


async def cmd_notice_draft(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    """Compose a criticism notice from data; the office approves it in chat with /notice."""
    view = await draft_for_cli(args.period, uow=db.uow(), clock=clock)
    print(cli_text(view, settings.locale))


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    jobs = sub.add_parser("jobs", help="the scheduler").add_subparsers(dest="sub", required=True)
    p = jobs.add_parser("tick", help="run one scheduler tick (reminders, alerts, escalation)")
    p.add_argument("--at", help="the instant, e.g. 2027-03-22T09:00 (read in DUBAN_TIMEZONE without an offset)")
    p.add_argument("--dry-run", action="store_true", help="roll back; print each push as a JSON line")
    p.set_defaults(func=cmd_jobs_tick)
    cal = sub.add_parser("calendar", help="working-day calendars").add_subparsers(dest="sub", required=True)
    p = cal.add_parser("load", help="load a year's holidays and working weekends (TOML)")
    p.add_argument("file", help="TOML with year, holidays, workdays")
    p.set_defaults(func=cmd_calendar_load)
    notice = sub.add_parser("notice", help="criticism notices (通报批评)").add_subparsers(dest="sub", required=True)
    p = notice.add_parser("draft", help="compose a notice draft from data; the office approves it in chat (/notice)")
    p.add_argument("--period", required=True, help="2027-Q1, 2027-03, 2027-H1 or 2027")
    p.set_defaults(func=cmd_notice_draft)
