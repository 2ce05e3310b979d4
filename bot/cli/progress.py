"""``duban progress export``: every assignment's standing as of a date, as a workbook."""

from __future__ import annotations

import argparse
import re
from datetime import date
from pathlib import Path

from bot.cli.errors import UsageError
from config.i18n import t
from config.settings import Settings
from models.db import Database
from services.core.clock import Clock, today
from services.progress.export import export_progress


async def cmd_progress_export(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
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


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    progress = sub.add_parser("progress", help="progress of the assignments").add_subparsers(dest="sub", required=True)
    p = progress.add_parser("export", help="every assignment's standing as of a date, as a workbook")
    p.add_argument("--as-of", help="YYYY-MM-DD (default: today in DUBAN_TIMEZONE)")
    p.add_argument("--out", required=True, help="path of the .xlsx to write")
    p.set_defaults(func=cmd_progress_export)
