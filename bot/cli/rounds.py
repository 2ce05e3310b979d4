"""``duban assess open`` (draw the peer and inspection samples) and ``duban survey qr`` / ``duban survey links``."""

from __future__ import annotations

import argparse
import asyncio
import re
from datetime import date
from pathlib import Path

from bot.app.identity import bot_username
from bot.cli.errors import Refused
from config.i18n import t
from config.settings import Settings
from models.db import Database
from services.assessment import survey
from services.assessment.assess import open_round
from services.core import cells
from services.core.clock import Clock
from services.scoring.rules import RulesError, load_rules

QR_SUFFIXES = (".png", ".svg")


def _cutoff(text: str | None, year: int, lang: str) -> date | None:
    if text is None:
        return None
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text.strip())
    try:
        if m is None:
            raise ValueError(text)
        day = date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise Refused(t("peer.cli_bad_cutoff", lang, value=text, year=year)) from None
    if day.year not in (year, year + 1):
        raise Refused(t("peer.cli_bad_cutoff", lang, value=text, year=year))
    return day


def _codes(codes: list[str], limit: int = 20) -> str:
    return ", ".join(codes[:limit]) + (f" … (+{len(codes) - limit})" if len(codes) > limit else "")


async def cmd_assess_open(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    """Open the year's round (or add to the open one) and draw who scores whom; scorers are told in chat."""

    lang = settings.locale
    rules_text = None
    if args.rules is not None:
        path = Path(args.rules)
        if not path.is_file():  # noqa: ASYNC240 (one stat of a local file)
            raise Refused(t("cli.no_file", lang, path=args.rules))
        try:
            rules_text = load_rules(path).text
        except RulesError as exc:
            raise Refused("\n".join([t("peer.cli_rules_invalid", lang, path=args.rules), *exc.problems])) from None
    result = await open_round(args.year, rules_text=rules_text, cutoff=_cutoff(args.cutoff, args.year, lang),
                              seed=args.seed, actor="cli", uow=db.uow(), clock=clock)
    lines = [t("peer.cli_opened" if result.created else "peer.cli_added", lang, year=result.year,
               cutoff=result.cutoff.isoformat(), rules=result.rules_hash[:12]),
             t("peer.cli_drawn", lang, peer=result.peer_samples, inspection=result.inspection_samples,
               scorers=result.scorers, messages=result.messages)]
    if result.no_peers:
        lines.append(t("peer.cli_no_peers", lang, count=len(result.no_peers), codes=_codes(result.no_peers)))
    if result.no_visits:
        lines.append(t("peer.cli_no_visits", lang, count=len(result.no_visits), codes=_codes(result.no_visits)))
    print("\n".join(lines))


async def cmd_survey_qr(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    """Print a unit's survey link and write it as a QR code."""
    import segno


    out = Path(args.out)
    if out.suffix.lower() not in QR_SUFFIXES:
        raise Refused(t("survey.cli_bad_out", settings.locale, path=args.out))
    username = await bot_username(settings, db, clock)
    info = await survey.ensure_link(args.year or clock.now().year, args.unit, uow=db.uow(), clock=clock)
    url = info.url(username)
    await asyncio.to_thread(segno.make(url, error="m").save, str(out), scale=10, border=4)
    print(url)
    print(t("survey.cli_qr_written", settings.locale, path=args.out, unit=info.unit_name, year=info.year))


async def cmd_survey_links(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    """A workbook with every active unit's survey link (made where missing), for the office to print."""
    from openpyxl import Workbook


    lang = settings.locale
    username = await bot_username(settings, db, clock)
    year = args.year or clock.now().year
    links = await survey.all_links(year, uow=db.uow(), clock=clock)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = str(year)
    cells.append(sheet, [t(f"survey.col.{c}", lang) for c in ("unit_code", "unit", "unit_class", "year", "link")])
    for info in links:
        cells.append(sheet, [info.unit_code, info.unit_name, info.unit_class, info.year, info.url(username)])
    for column, width in zip("ABCDE", (14, 28, 12, 8, 64), strict=True):
        sheet.column_dimensions[column].width = width
    await asyncio.to_thread(book.save, args.out)
    print(t("survey.cli_links_written", lang, count=len(links), path=args.out, year=year))


def add_parsers(assess: argparse._SubParsersAction, top: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Subcommands of ``duban assess``; ``top`` is the top level (for ``duban survey``)."""
    p = assess.add_parser("open", help="open a year's round and draw who scores whom (交叉考核, 巡察考核)")
    p.add_argument("year", type=int)
    p.add_argument("--rules", metavar="FILE", help="rules TOML (default: the shipped rules; a reopened run keeps "
                                                   "the round's own)")
    p.add_argument("--cutoff", metavar="YYYY-MM-DD", help="data cut-off day (default: 31 December of the year)")
    p.add_argument("--seed", type=int, help="seed of the random draw (a reproducible draw)")
    p.set_defaults(func=cmd_assess_open)

    survey = top.add_parser("survey", help="the public satisfaction survey (群众满意度)").add_subparsers(
        dest="sub", required=True)
    p = survey.add_parser("qr", help="print a unit's survey link and write its QR code (.png or .svg)")
    p.add_argument("unit", help="unit code")
    p.add_argument("--year", type=int, help="survey year (default: this year)")
    p.add_argument("--out", required=True, help="path of the .png (or .svg) to write")
    p.set_defaults(func=cmd_survey_qr)
    p = survey.add_parser("links", help="a workbook with every active unit's survey link")
    p.add_argument("--year", type=int, help="survey year (default: this year)")
    p.add_argument("--out", required=True, help="path of the .xlsx to write")
    p.set_defaults(func=cmd_survey_links)
