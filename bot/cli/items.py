"""``duban items export``: every supervision item (督办件), one row per unit's part, with its light, as a
workbook."""

from __future__ import annotations

import argparse
from pathlib import Path

from config.i18n import t
from config.settings import Settings
from models.db import Database
from services.core.clock import Clock
from services.items.export import export_items


async def cmd_items_export(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    count = await export_items(Path(args.out), uow=db.uow(), clock=clock, lang=settings.locale)
    print(t("items.export.written", settings.locale, count=count, path=args.out))


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    items = sub.add_parser("items", help="supervision items (督办件)").add_subparsers(dest="sub", required=True)
    p = items.add_parser("export", help="every item, one row per unit's part, with its light, as a workbook")
    p.add_argument("--out", required=True, help="path of the .xlsx to write")
    p.set_defaults(func=cmd_items_export)
