"""``duban invite …`` and ``duban person …``: invitation links and the office's changes to a person."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.app.identity import bot_username
from bot.cli.errors import UsageError
from config.i18n import t
from config.settings import Settings
from models.db import Database
from models.enums import Role, parse_enum
from services.core.clock import Clock
from services.people import invite, person
from services.people.invite_sheet import write_invites


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
                                ttl=args.expires, by_user_id=None, uow=db.uow(), clock=clock)
    for code in codes:
        print(invite.link(username, code))


async def cmd_invite_export(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
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


async def cmd_person_deactivate(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    changed = await person.deactivate(args.code, actor="cli", uow=db.uow(), clock=clock)
    print(t("cli.deactivated" if changed else "cli.already_inactive", settings.locale, code=args.code))


async def cmd_person_move(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    changed = await person.move(args.code, args.unit, actor="cli", uow=db.uow(), clock=clock)
    print(t("cli.moved" if changed else "cli.unchanged", settings.locale, code=args.code, unit=args.unit))


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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

    people = sub.add_parser("person", help="people").add_subparsers(dest="sub", required=True)
    p = people.add_parser("deactivate", help="end a person's access at once (history kept)")
    p.add_argument("code")
    p.set_defaults(func=cmd_person_deactivate)
    p = people.add_parser("move", help="move a person to another unit")
    p.add_argument("code")
    p.add_argument("--unit", required=True)
    p.set_defaults(func=cmd_person_move)
