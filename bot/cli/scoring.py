"""``duban assess rules --check|--show``, ``duban assess item add|revoke|list`` (the office's bonus,
deduction and veto items) and ``duban assess preview`` (the ranking as it would be published)."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from sqlmodel import select

from bot.cli.errors import Refused
from config.i18n import t
from config.settings import Settings
from models.assessment import AssessmentRound
from models.db import Database
from services.assessment.items import ItemView, add_item, list_items, revoke_item
from services.core.clock import Clock
from services.scoring.formula import compute_county, display
from services.scoring.results import CountyResult, UnitResult
from services.scoring.rules import DEFAULT_RULES_PATH, Rules, RulesError, load_rules, parse_rules


def _read_rules(path_text: str, lang: str) -> Rules:
    path = Path(path_text)
    if not path.is_file():
        raise Refused(t("assess.cli.no_file", lang, path=path_text))
    try:
        return parse_rules(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise Refused(t("assess.rules.not_utf8", lang, path=path_text)) from None
    except RulesError as exc:
        lines = [t("assess.rules.problems", lang, path=path_text, count=len(exc.problems)), *exc.problems]
        raise Refused("\n".join(lines)) from None


async def cmd_rules(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    lang = settings.locale
    if args.check:
        rules = _read_rules(args.check, lang)
        print(t("assess.rules.ok", lang, path=args.check, classes=", ".join(sorted(rules.classes)) or "—",
                hash=rules.hash[:12]))
        return
    rules = load_rules()
    print(t("assess.rules.shipped", lang, path=str(DEFAULT_RULES_PATH), hash=rules.hash))


def _item_line(item: ItemView, lang: str) -> str:
    state = t("assess.item.state_revoked", lang, reason=item.revoked_reason or "") if item.revoked_at else ""
    return t("assess.item.row", lang, id=item.id, unit=item.unit_code, name=item.unit_name,
             kind=t(f"assess.kind.{item.kind}", lang), points=display(item.points) if item.points is not None else "—",
             reason=item.reason, evidence=item.evidence or "—", state=state)


async def cmd_item_add(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    item = await add_item(args.year, args.unit, args.kind, args.points, args.reason, args.evidence or "",
                          actor="cli", uow=db.uow(), clock=clock)
    print(t("assess.item.added", settings.locale, id=item.id))
    print(_item_line(item, settings.locale))


async def cmd_item_revoke(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    item = await revoke_item(args.id, args.reason, actor="cli", uow=db.uow(), clock=clock)
    print(t("assess.item.revoked", settings.locale, id=item.id))


async def cmd_item_list(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    items = await list_items(args.year, uow=db.read_uow())
    if not items:
        print(t("assess.item.none", settings.locale, year=args.year))
        return
    for item in items:
        print(_item_line(item, settings.locale))


def _flags(unit: UnitResult, lang: str) -> str:
    flags = [t(f"score.veto.short.{reason}", lang) for reason in unit.veto_reasons]
    if unit.bottom:
        flags.append(t("score.flag.bottom", lang))
    if unit.caps:
        flags.append(t("score.flag.capped", lang))
    return ", ".join(flags)


def render_preview(result: CountyResult, lang: str) -> str:
    """The ranking per class as a plain table."""
    out = [t("assess.preview.title", lang, year=result.year, cutoff=result.cutoff.isoformat(),
             hash=result.rules_hash[:12])]
    if not result.units:
        out.append(t("assess.preview.empty", lang, year=result.year))
    header = t("assess.preview.header", lang)
    for name, units in result.by_class().items():
        out += ["", t("assess.preview.class", lang, name=name or "—", count=len(units)), header]
        for u in units:
            out.append("  ".join([
                f"{u.rank:>3}", u.unit_code, u.unit_name, display(u.completion), display(u.peer), display(u.inspection),
                f"+{display(u.bonus)}", f"-{display(u.deduction)}", display(u.total), t(f"grade.{u.grade}", lang),
                _flags(u, lang),
            ]).rstrip())
    failing = [g for g in result.groups if not g.complete]
    if result.groups:
        complete = len(result.groups) - len(failing)
        out += ["", t("assess.preview.groups", lang, complete=complete, total=len(result.groups))]
        for g in failing:
            out.append(t("assess.preview.group_failing", lang, code=g.code, name=g.name,
                         targets="; ".join(f"{target}@{unit}" for target, unit in g.failing)))
            if g.head_name:
                out.append(t("assess.preview.group_head", lang, head=g.head_name, code=g.head_code))
    return "\n".join(out)


async def cmd_preview(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    lang = settings.locale
    async with db.read_uow() as uow:
        round_ = (await uow.session.exec(select(AssessmentRound).where(AssessmentRound.year == args.year))).first()
    if args.cutoff:
        try:
            cutoff = date.fromisoformat(args.cutoff.strip())
        except ValueError:
            raise Refused(t("assess.cli.bad_cutoff", lang, value=args.cutoff)) from None
    elif round_ is not None:
        cutoff = round_.cutoff
    else:
        cutoff = min(clock.now().date(), date(args.year, 12, 31))
    if args.rules:
        rules = _read_rules(args.rules, lang)
    elif round_ is not None:
        rules = parse_rules(round_.rules_toml)
    else:
        rules = load_rules()
    result = await compute_county(args.year, uow=db.read_uow(), rules=rules, cutoff=cutoff, tz=settings.tz)
    print(render_preview(result, lang))


def add_parsers(assess: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Subcommands of ``duban assess``."""
    p = assess.add_parser("rules", help="check a rules file, or show the shipped defaults")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--check", metavar="FILE", help="list every problem of a rules file (TOML)")
    group.add_argument("--show", action="store_true", help="print the shipped defaults' path and hash")
    p.set_defaults(func=cmd_rules)

    item = assess.add_parser("item", help="bonus, deduction and veto items (加分/扣分/一票否决)").add_subparsers(
        dest="item_cmd", required=True)
    p = item.add_parser("add", help="record an item with its reason and evidence")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--unit", required=True, help="unit code")
    p.add_argument("--kind", required=True, choices=["bonus", "deduction", "veto"])
    p.add_argument("--points", help="points (> 0) for a bonus or deduction; none for a veto")
    p.add_argument("--reason", required=True)
    p.add_argument("--evidence", help="where the evidence is (document number, link)")
    p.set_defaults(func=cmd_item_add)
    p = item.add_parser("revoke", help="revoke an item (kept, no longer counted)")
    p.add_argument("id", type=int)
    p.add_argument("--reason", required=True)
    p.set_defaults(func=cmd_item_revoke)
    p = item.add_parser("list", help="every item of a year, revoked ones included")
    p.add_argument("--year", type=int, required=True)
    p.set_defaults(func=cmd_item_list)

    p = assess.add_parser("preview", help="the ranking per class as it would be published now")
    p.add_argument("year", type=int)
    p.add_argument("--cutoff", help="YYYY-MM-DD (default: the round's cut-off, else today, at most Dec 31)")
    p.add_argument("--rules", help="a rules file to try (default: the round's rules, else the shipped defaults)")
    p.set_defaults(func=cmd_preview)
