"""``duban dashboard link --person CODE``: a one-time login link to the dashboard (for an admin at a desk,
and for tests): valid for 10 minutes, used once."""

from __future__ import annotations

import argparse
from urllib.parse import quote

from config.i18n import t
from config.settings import Settings, SettingsError
from models.db import Database
from services.core.clock import Clock
from services.dashboard import access


async def cmd_dashboard_link(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    if not settings.public_url:
        raise SettingsError(t("dash.no_public_url", settings.locale))
    token = await access.create_login(args.person, actor="cli", uow=db.uow(), clock=clock)
    county = f"c={quote(args.county, safe='')}&" if args.county else ""
    print(f"{settings.public_url}/dashboard/login?{county}t={token}")


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    dash = sub.add_parser("dashboard", help="the leaders' dashboard").add_subparsers(dest="sub", required=True)
    p = dash.add_parser("link", help="print a one-time login link (10 minutes, single use) for a person")
    p.add_argument("--person", required=True, metavar="CODE", help="the person's code")
    p.add_argument("--county", metavar="CODE", help="the county's code when one process serves several")
    p.set_defaults(func=cmd_dashboard_link)
