"""Working on a unit's part of a supervision item — transport only; the rules are in services/items/itemwork.py
and services/items/lifecycle.py.

One dialogue ``itemwork`` (states are services.items.itemwork.Step; see itemwork.mmd), entered four ways:
``it:prog:<part>`` (办理: a progress note) and ``it:done:<part>`` (办结: the completion report) → NOTE → FILES →
CONFIRM, by a cadre of the unit; ``it:iss:<part>:<report>`` (has issues) and ``it:rej:<part>:<report>`` (不予销号)
→ COMMENT, by the verifier. Buttons of the rectifications that came before (``rect:close:<n>``, ``rect:no:<n>``)
enter it the same way. /cancel anywhere.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from config.i18n import Translator
from handlers.common import button_data, message_text, reply, who
from handlers.context import Context
from handlers.dialogue import DialogueView
from handlers.files import fetch, limits, size_of, too_big
from handlers.itemwork_text import prompt
from services.items import itemwork
from services.items.attach import accepted
from services.items.itemwork import Snapshot, Step

ENTRIES = {"prog": "progress", "done": "report", "close": "report", "iss": "issues", "no": "issues",
           "rej": "reject"}


async def _show(update: Update, context: Context, snap: Snapshot, tr: Translator) -> None:
    text, markup = prompt(snap, tr)
    await reply(update, text, reply_markup=markup)


VIEW = DialogueView(itemwork.DIALOGUE, _show, unexpected="items.unexpected", cancelled="items.cancelled",
                    nothing_to_cancel="items.nothing_to_cancel")


async def begin(update: Update, context: Context) -> object:
    """``it:<verb>:<part>[:<report>]`` (or an old ``rect:<verb>:<n>[:<closing>]``): start that kind of step."""
    _, verb, number, *rest = button_data(update).split(":")
    return await VIEW.step(update, context, itemwork.begin, ENTRIES[verb], int(number),
                           int(rest[0]) if rest else None)


def _text_at(step: Step):  # type: ignore[no-untyped-def]
    async def handle(update: Update, context: Context) -> object:
        """The note (NOTE) or the verifier's comment (COMMENT, which decides)."""
        return await VIEW.step(update, context, itemwork.advance, step, message_text(update))
    return handle


async def file(update: Update, context: Context) -> object:
    """A photo or document at NOTE (its caption is the note) or at FILES."""
    message = update.effective_message
    assert message is not None
    _, tr = await who(update, context)
    if message.document is not None and not accepted(message.document.mime_type):
        await reply(update, tr("items.file_kind"))
        return None
    if too_big(message):
        await reply(update, tr("items.file_too_big"))
        return None
    ok, state = await VIEW.precheck(update, context, itemwork.may_add_file, size_of(message), limits(context))
    if not ok:
        return state
    return await VIEW.step(update, context, itemwork.add_file, await fetch(message, context), message.caption,
                           limits(context))


async def files_done(update: Update, context: Context) -> object:
    """/done or the Done button: to the summary (a completion report needs a file first)."""
    return await VIEW.step(update, context, itemwork.advance, Step.FILES, None)


async def confirm(update: Update, context: Context) -> object:
    """Confirm: writes the note or the report. Also answers a second press after the end."""
    return await VIEW.confirm(update, context, itemwork.confirm, int(button_data(update).rsplit(":", 1)[1]))


async def cancel(update: Update, context: Context) -> object:
    """/cancel or the Cancel button: drop the dialogue, write nothing."""
    return await VIEW.cancel(update, context)


async def stray(update: Update, context: Context) -> object:
    """Anything the current step does not take: say what is expected, stay at the step."""
    return await VIEW.stray(update, context)


def conversation() -> ConversationHandler:
    text_only = filters.TEXT & ~filters.COMMAND
    files = filters.PHOTO | filters.Document.ALL
    return ConversationHandler(
        entry_points=[
            CallbackQueryHandler(begin, pattern=r"^it:(prog|done):\d{1,18}$"),
            CallbackQueryHandler(begin, pattern=r"^it:(iss|rej):\d{1,18}:\d{1,18}$"),
            CallbackQueryHandler(begin, pattern=r"^rect:close:\d{1,18}$"),
            CallbackQueryHandler(begin, pattern=r"^rect:no:\d{1,18}(:\d{1,18})?$"),
        ],
        states={
            Step.NOTE: [MessageHandler(text_only, _text_at(Step.NOTE)), MessageHandler(files, file)],
            Step.FILES: [MessageHandler(files, file), CommandHandler("done", files_done),
                         CallbackQueryHandler(files_done, pattern=r"^(iw:next|rect:done)$")],
            Step.CONFIRM: [CallbackQueryHandler(confirm, pattern=r"^(iw|rect):y:\d{1,18}$")],
            Step.COMMENT: [MessageHandler(text_only, _text_at(Step.COMMENT))],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CallbackQueryHandler(cancel, pattern=r"^(iw|rect):x$"),
            # Only what is meant for this dialogue: other features' commands and buttons still work in it.
            MessageHandler(~filters.COMMAND, stray),
            CallbackQueryHandler(stray, pattern=r"^iw:"),
        ],
        name=itemwork.DIALOGUE.name,
        persistent=True,
        allow_reentry=True,
    )
