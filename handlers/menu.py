"""The commands a person has: the menu Telegram shows (public commands by language, a person's own per
chat) and the list /help, /start and joining print."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from config.i18n import DEFAULT_LANGUAGE, LANGUAGES, Translator, t
from services.people.menu import PUBLIC, commands_for
from services.people.viewer import Viewer

log = logging.getLogger(__name__)


def command_list(commands: list[str] | tuple[str, ...], lang: str) -> list[BotCommand]:
    return [BotCommand(name, t(f"cmd.{name}", lang)) for name in commands]


async def publish_public_menu(bot: Bot, default_lang: str = DEFAULT_LANGUAGE) -> None:
    """What unregistered users see: the default language without a language code, the others with theirs."""
    await bot.set_my_commands(command_list(PUBLIC, default_lang), scope=BotCommandScopeDefault())
    for lang in LANGUAGES:
        if lang != default_lang:
            await bot.set_my_commands(command_list(PUBLIC, lang), scope=BotCommandScopeDefault(),
                                      language_code=lang)


async def publish_personal_menu(bot: Bot, chat_id: int, viewer: Viewer, lang: str) -> None:
    """A registered person's menu: their roles' commands, in their language (chat scope)."""
    try:
        await bot.set_my_commands(command_list(commands_for(viewer.roles), lang),
                                  scope=BotCommandScopeChat(chat_id))
    except TelegramError:  # the menu is a convenience; /help always works
        log.warning("could not set the command menu for chat %s", chat_id, exc_info=True)


def menu_text(viewer: Viewer | None, tr: Translator) -> str:
    commands = commands_for(viewer.roles) if viewer is not None else list(PUBLIC)
    lines = [tr("help.title")]
    lines += [f"/{name} — {tr(f'cmd.{name}')}" for name in commands]
    return "\n".join(lines)
