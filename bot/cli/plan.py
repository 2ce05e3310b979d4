"""``duban plan template|import|export``: the yearly plan workbook."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.errors import Refused, UsageError
from config.i18n import t
from config.settings import Settings
from models.db import Database
from services.core.clock import Clock
from services.plan.export import export_plan
from services.plan.importer import import_plan, render_report
from services.plan.workbook import write_template
from services.scoring.rules import CATEGORY_KEYS, RulesError, load_rules


async def cmd_plan_template(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    write_template(Path(args.out))
    print(t("cli.written", settings.locale, path=args.out))


async def cmd_plan_import(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    path = Path(args.file)
    if not path.is_file():  # noqa: ASYNC240 (one stat of a local file)
        raise UsageError(t("cli.no_file", settings.locale, path=args.file))
    try:
        rules = load_rules(Path(args.rules) if args.rules else None)
    except (RulesError, OSError) as exc:
        raise UsageError(str(exc)) from None
    weights = {name: [(CATEGORY_KEYS[key], w) for key, w in r.category_weights.items()]
               for name, r in rules.classes.items() if r.category_weights}
    report = await import_plan(path, db_uow=db.uow(), clock=clock, actor="cli", dry_run=args.dry_run,
                               prune=args.prune, class_weights=weights)
    text = render_report(report, settings.locale)
    if not report.ok:
        raise Refused(text)
    print(text)


async def cmd_plan_export(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    await export_plan(Path(args.out), db_uow=db.uow())
    print(t("cli.written", settings.locale, path=args.out))


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    plan = sub.add_parser("plan", help="the yearly plan workbook").add_subparsers(dest="sub", required=True)
    p = plan.add_parser("template", help="write an empty plan workbook with examples")
    p.add_argument("--out", required=True, help="path of the .xlsx to write")
    p.set_defaults(func=cmd_plan_template, needs_schema=False)
    p = plan.add_parser("import", help="validate and load a plan workbook (all or nothing)")
    p.add_argument("file", help="the .xlsx")
    p.add_argument("--dry-run", action="store_true", help="validate and report, write nothing")
    p.add_argument("--prune", action="store_true",
                   help="remove (people, units: deactivate) what the file no longer lists")
    p.add_argument("--rules", default=None,
                   help="the assessment rules whose category weights per class the plan is checked against "
                        "(default: the shipped rules; a mismatch warns, never refuses)")
    p.set_defaults(func=cmd_plan_import)
    p = plan.add_parser("export", help="write the plan as a workbook")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_plan_export)
