"""/dashboard: the leaders' dashboard — a Mini App button (``web_app``, signed in by Telegram's initData)
and a one-time login link for a desktop browser (10 minutes, single use). Without DUBAN_PUBLIC_URL it says
what to set."""

from __future__ import annotations

from urllib.parse import quote

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, WebAppInfo

from handlers.common import deps, reply, who
from handlers.context import Context
from services.core.errors import DomainError
from services.dashboard import access


async def dashboard(update: Update, context: Context) -> None:
    """Reply with the Mini App button and a one-time link, or say what the office must set."""
    d = deps(context)
    viewer, tr = await who(update, context)
    if viewer is None:
        return
    base = d.settings.public_url
    if not base:
        await reply(update, tr("dash.no_public_url"))
        return
    try:
        token = await access.create_login(viewer.code, actor=f"person:{viewer.code}", uow=d.db.uow(), clock=d.clock)
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    county = quote(d.county, safe="")
    # Private chats only (handlers/registry.py): the link signs in whoever opens it first, and Telegram allows
    # web_app buttons in private chats only.
    buttons = [[InlineKeyboardButton(tr("dash.open_app"), web_app=WebAppInfo(f"{base}/dashboard/?c={county}"))],
               [InlineKeyboardButton(tr("dash.open_browser"), url=f"{base}/dashboard/login?c={county}&t={token}")]]
    await reply(update, tr("dash.offer"), reply_markup=InlineKeyboardMarkup(buttons))
