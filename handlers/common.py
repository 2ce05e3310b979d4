"""Small helpers every handler uses: dependencies, the viewer, their language, replying."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode

from bot.deps import Context, Deps
from config.i18n import Translator, normalise_language
from services import people
from services.people import Viewer


def deps(context: Context) -> Deps:
    return context.bot_data


def language_of(update: Update, viewer: Viewer | None, default: str) -> str:
    """The person's chosen language, else their Telegram app's language if we have it, else the default."""
    if viewer is not None and viewer.language:
        return viewer.language
    user = update.effective_user
    if user is not None and user.language_code:
        return normalise_language(user.language_code, default)
    return default


async def who(update: Update, context: Context) -> tuple[Viewer | None, Translator]:
    d = deps(context)
    user = update.effective_user
    viewer = await people.viewer_for(user.id, uow=d.db.uow()) if user else None
    return viewer, Translator(language_of(update, viewer, d.settings.locale))


def display_name(update: Update) -> str:
    user = update.effective_user
    return user.full_name if user else ""


async def reply(update: Update, text: str, **kwargs: object) -> None:
    """Answer in the chat the update came from (a reply, not a push: pushes go through the outbox)."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    message = update.effective_message
    if message is not None:
        await message.reply_text(text, parse_mode=ParseMode.HTML, **kwargs)  # type: ignore[arg-type]
