"""Answering a warning notice (预警通知单) — transport only; the rules are in services/alerts/warning.py.

One dialogue ``warning`` (states are services.alerts.warning.Step; see warning.mmd), entered by
``wn:ans:<alert>`` (the Answer button on the notice, or in a push's list): REASON → STEPS → PHOTO (a photo, or
/skip) → CONFIRM. /cancel anywhere.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from config.i18n import Translator
from handlers.common import button_data, message_text, reply, who
from handlers.context import Context
from handlers.dialogue import DialogueView, alert
from handlers.files import fetch, limits, size_of, too_big
from handlers.warning_text import prompt
from services.alerts import warning
from services.alerts.warning import Snapshot, Step


async def _show(update: Update, context: Context, snap: Snapshot, tr: Translator) -> None:
    text, markup = prompt(snap, tr)
    await reply(update, text, reply_markup=markup)


VIEW = DialogueView(warning.DIALOGUE, _show, unexpected="warning.unexpected", cancelled="warning.cancelled",
                    nothing_to_cancel="warning.nothing_to_cancel", refuse=alert)


async def begin(update: Update, context: Context) -> object:
    """``wn:ans:<alert>``: start answering that notice."""
    return await VIEW.step(update, context, warning.begin, int(button_data(update).rsplit(":", 1)[1]))


def _text_at(step: Step):  # type: ignore[no-untyped-def]
    async def handle(update: Update, context: Context) -> object:
        """The reason (REASON) or the next steps (STEPS)."""
        return await VIEW.step(update, context, warning.advance, step, message_text(update))
    return handle


async def skip(update: Update, context: Context) -> object:
    """/skip or Skip at PHOTO: no photo, to the summary."""
    return await VIEW.step(update, context, warning.advance, Step.PHOTO, None)


async def photo(update: Update, context: Context) -> object:
    """A photo (or an image sent as a file) at PHOTO."""
    message = update.effective_message
    assert message is not None
    _, tr = await who(update, context)
    if message.document is not None and not (message.document.mime_type or "").startswith("image/"):
        await reply(update, tr("warning.photo_only"))
        return None
    if too_big(message):
        await reply(update, tr("items.file_too_big"))
        return None
    ok, state = await VIEW.precheck(update, context, warning.may_add_photo, size_of(message), limits(context))
    if not ok:
        return state
    return await VIEW.step(update, context, warning.add_photo, await fetch(message, context), limits(context))


async def confirm(update: Update, context: Context) -> object:
    """Submit: writes the answer. Also answers a second press after the end."""
    return await VIEW.confirm(update, context, warning.confirm, int(button_data(update).rsplit(":", 1)[1]))


async def cancel(update: Update, context: Context) -> object:
    """/cancel or Cancel: drop the dialogue, write nothing."""
    return await VIEW.cancel(update, context)


async def stray(update: Update, context: Context) -> object:
    """Anything the current step does not take: say what is expected, stay at the step."""
    return await VIEW.stray(update, context)


def conversation() -> ConversationHandler:
    text_only = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(begin, pattern=r"^wn:ans:\d{1,18}$")],
        states={
            Step.REASON: [MessageHandler(text_only, _text_at(Step.REASON))],
            Step.STEPS: [MessageHandler(text_only, _text_at(Step.STEPS))],
            Step.PHOTO: [MessageHandler(filters.PHOTO | filters.Document.ALL, photo), CommandHandler("skip", skip),
                         CallbackQueryHandler(skip, pattern=r"^wn:skip$")],
            Step.CONFIRM: [CallbackQueryHandler(confirm, pattern=r"^wn:y:\d{1,18}$")],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CallbackQueryHandler(cancel, pattern=r"^wn:x$"),
            # Only what is meant for this dialogue: other features' commands and buttons still work in it.
            MessageHandler(~filters.COMMAND, stray),
            CallbackQueryHandler(stray, pattern=r"^wn:"),
        ],
        name=warning.DIALOGUE.name,
        persistent=True,
        allow_reentry=True,
    )
