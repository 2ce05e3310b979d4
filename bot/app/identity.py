"""The bot's username (for invitation and survey links): ``DUBAN_BOT_USERNAME``, else the one learned
before (kept in the database), else asked of the configured Bot API with getMe and kept."""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import TelegramError

from config.settings import Settings
from models.db import Database
from services.core import kv
from services.core.clock import Clock

log = logging.getLogger(__name__)


class UnknownUsername(Exception):
    """Neither the settings nor the database know the username, and getMe did not answer."""


async def known_username(settings: Settings, db: Database) -> str | None:
    """The username without asking Telegram: the setting, else the one kept in the database."""
    return settings.bot_username or await kv.get(kv.BOT_USERNAME, uow=db.read_uow())


async def bot_username(settings: Settings, db: Database, clock: Clock) -> str:
    """The username, asking the Bot API (getMe) only when nothing is known; UnknownUsername when that fails."""
    known = await known_username(settings, db)
    if known:
        return known
    if settings.token is None:
        raise UnknownUsername
    try:
        async with Bot(settings.token.get_secret_value(), base_url=settings.bot_api_base_url,
                       base_file_url=settings.bot_api_file_url) as bot:
            username = bot.username
    except (TelegramError, OSError) as exc:
        log.debug("getMe failed: %s", exc)
        raise UnknownUsername from None
    await kv.put(kv.BOT_USERNAME, username, uow=db.uow(), clock=clock)
    return username
