"""``duban assess publish|close|reopen|export|appeals``: results, public notice, freezing."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.errors import Refused
from config.i18n import t
from config.settings import Settings
from models.db import Database
from services.assessment import accountability_export, appeal_records, rounds
from services.assessment.export import export
from services.core.clock import Clock
from services.core.errors import DomainError


def _when(value, clock: Clock) -> str:  # type: ignore[no-untyped-def]
    return value.astimezone(clock.tz).strftime("%Y-%m-%d %H:%M") if value else "-"


def _refusal(exc: DomainError, settings: Settings) -> Refused:
    return Refused(t(exc.key, settings.locale, **exc.params))


async def cmd_publish(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    try:
        done = await rounds.publish(args.year, args.days, actor="cli", uow=db.uow(), clock=clock)
    except DomainError as exc:
        raise _refusal(exc, settings) from None
    print(t("cli.results.published", settings.locale, year=done.year, units=done.units, told=done.told,
            until=_when(done.appeal_until, clock)))


async def cmd_close(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    try:
        county = await rounds.close(args.year, actor="cli", uow=db.uow(), clock=clock)
    except DomainError as exc:
        raise _refusal(exc, settings) from None
    print(t("cli.results.closed", settings.locale, year=county.year, units=len(county.units),
            rules_hash=county.rules_hash[:12], cutoff=county.cutoff.isoformat()))


async def cmd_reopen(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    try:
        rnd = await rounds.reopen(args.year, args.reason, actor="cli", uow=db.uow(), clock=clock, days=args.days)
    except DomainError as exc:
        raise _refusal(exc, settings) from None
    print(t("cli.results.reopened", settings.locale, year=rnd.year, until=_when(rnd.appeal_until, clock)))


async def cmd_export(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    try:
        done = await export(Path(args.out), args.year, uow=db.read_uow(), clock=clock, lang=settings.locale)
    except DomainError as exc:
        raise _refusal(exc, settings) from None
    print(t("cli.results.exported", settings.locale, year=done.year, units=done.units, classes=done.classes,
            path=args.out))


async def cmd_appeals(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    try:
        found = await appeal_records.appeals(args.year, uow=db.read_uow())
    except DomainError as exc:
        raise _refusal(exc, settings) from None
    lang = settings.locale
    if not found:
        print(t("cli.results.no_appeals", lang, year=args.year))
        return
    print("\t".join(t(f"exp.col.{c}", lang) for c in
                    ("appeal", "unit_code", "appellant", "filed_at", "appeal_status", "correction", "reason",
                     "decision_reason")))
    for ap in found:
        print("\t".join([str(ap.id), ap.unit_code, ap.person_name, _when(ap.created_at, clock),
                         t(f"appeal.status.{ap.status}", lang),
                         str(ap.correction) if ap.correction is not None else "-",
                         " ".join(ap.reason.split()), " ".join((ap.decision_reason or "-").split())]))


async def cmd_accountability(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    try:
        done = await accountability_export.export(Path(args.out), args.year, uow=db.read_uow(), clock=clock,
                                                  lang=settings.locale)
    except DomainError as exc:
        raise _refusal(exc, settings) from None
    print(t("cli.acc.written", settings.locale, year=done.year, lines=done.lines, path=args.out))


def add_parsers(assess: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Subcommands of ``duban assess``."""
    p = assess.add_parser("publish", help="compute and publish the results for public notice (公示); appeals open")
    p.add_argument("year", type=int)
    p.add_argument("--days", type=int, default=7, help="length of the appeal window in days (default 7)")
    p.set_defaults(func=cmd_publish)
    p = assess.add_parser("close", help="freeze the results (after every appeal is decided and the window is over)")
    p.add_argument("year", type=int)
    p.set_defaults(func=cmd_close)
    p = assess.add_parser("reopen", help="reopen a closed round (audited); close it again to refreeze")
    p.add_argument("year", type=int)
    p.add_argument("--reason", default="", help="why (required; recorded in the audit log)")
    p.add_argument("--days", type=int, default=None, help="open a new appeal window of this many days")
    p.set_defaults(func=cmd_reopen)
    p = assess.add_parser("export", help="the results as a workbook (ranking, breakdowns, statistics, appeals)")
    p.add_argument("year", type=int, nargs="?", default=None, help="default: the latest round")
    p.add_argument("--out", required=True, help="the .xlsx file to write")
    p.set_defaults(func=cmd_export)
    p = assess.add_parser("appeals", help="the appeals of a year and their state")
    p.add_argument("year", type=int)
    p.set_defaults(func=cmd_appeals)
    p = assess.add_parser("accountability", help="the accountability lines (说明, 述职, leadership review, records) "
                                                 "as a workbook, with the outcomes recorded in chat")
    p.add_argument("year", type=int, nargs="?", default=None, help="default: the latest round")
    p.add_argument("--out", required=True, help="the .xlsx file to write")
    p.set_defaults(func=cmd_accountability)
