"""/report: the guided progress report (the dialogue skeleton; the service is services/progress/report.py).

Flow (states are services.progress.report.Step; see report.mmd):
/report [code] → CHOOSE_TARGET → AWAIT_VALUE → (CONFIRM_DECREASE → AWAIT_REASON | CONFIRM_HIGH) →
AWAIT_NOTE → AWAIT_FILES → CONFIRM → end. /cancel anywhere.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from config.i18n import Translator
from handlers.common import button_data, message_text, reply, who
from handlers.context import Context
from handlers.dialogue import DialogueView
from handlers.files import fetch, limits, size_of, too_big
from handlers.report_text import prompt
from services.progress import report
from services.progress.report import Snapshot, Step


async def _show(update: Update, context: Context, snap: Snapshot, tr: Translator) -> None:
    text, markup = prompt(snap, tr)
    await reply(update, text, reply_markup=markup)


VIEW = DialogueView(report.DIALOGUE, _show, unexpected="report.unexpected", cancelled="report.cancelled",
                    nothing_to_cancel="report.nothing_to_cancel")


async def begin(update: Update, context: Context) -> object:
    """/report [target code]"""
    return await VIEW.step(update, context, report.begin, context.args[0] if context.args else None)


async def choose(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, report.choose, int(button_data(update).rsplit(":", 1)[1]))


async def value(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, report.give_value, message_text(update))


async def decide(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, report.decide, button_data(update).split(":", 1)[1])


async def text(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, report.give_text, message_text(update))


async def skip(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, report.give_text, None)


async def file(update: Update, context: Context) -> object:
    """A photo or document: fetched with getFile, stored by content, then added to the draft."""
    message = update.effective_message
    assert message is not None
    if too_big(message):
        _, tr = await who(update, context)
        await reply(update, tr("report.file_too_big"))
        return None
    ok, state = await VIEW.precheck(update, context, report.may_add_file, size_of(message), limits(context))
    if not ok:
        return state
    return await VIEW.step(update, context, report.add_file, await fetch(message, context), limits(context))


async def done(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, report.to_summary)


async def edit(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, report.edit)


async def confirm(update: Update, context: Context) -> object:
    """Confirm: the only step that writes a report. Also answers a second press after the end."""
    return await VIEW.confirm(update, context, report.confirm, int(button_data(update).rsplit(":", 1)[1]))


async def cancel(update: Update, context: Context) -> object:
    """/cancel or the Cancel button: drop the draft, write nothing."""
    return await VIEW.cancel(update, context)


async def stray(update: Update, context: Context) -> object:
    """Anything the current step does not take: say what is expected, stay at the step."""
    return await VIEW.stray(update, context)


def conversation() -> ConversationHandler:
    text_only = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CommandHandler("report", begin)],
        states={
            Step.CHOOSE_TARGET: [CallbackQueryHandler(choose, pattern=r"^rep:t:\d{1,18}$")],
            Step.AWAIT_VALUE: [MessageHandler(text_only, value)],
            Step.CONFIRM_DECREASE: [CallbackQueryHandler(decide, pattern=r"^rep:(correct|retype)$")],
            Step.CONFIRM_HIGH: [CallbackQueryHandler(decide, pattern=r"^rep:(keep|retype)$")],
            Step.AWAIT_REASON: [MessageHandler(text_only, text)],
            Step.AWAIT_NOTE: [
                MessageHandler(text_only, text),
                CommandHandler("skip", skip),
                CallbackQueryHandler(skip, pattern=r"^rep:skip$"),
            ],
            Step.AWAIT_FILES: [
                MessageHandler(filters.PHOTO | filters.Document.ALL, file),
                CommandHandler("done", done),
                CallbackQueryHandler(done, pattern=r"^rep:done$"),
            ],
            Step.CONFIRM: [
                CallbackQueryHandler(confirm, pattern=r"^rep:ok:\d{1,18}$"),
                CallbackQueryHandler(edit, pattern=r"^rep:edit$"),
                CallbackQueryHandler(cancel, pattern=r"^rep:cancel$"),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CommandHandler("report", begin),
            # Other features' commands and buttons still work in the middle of a report.
            MessageHandler(filters.UpdateType.MESSAGE & ~filters.COMMAND, stray),
            CallbackQueryHandler(stray, pattern=r"^rep:"),
        ],
        name=report.DIALOGUE.name,
        persistent=True,
        allow_reentry=True,
    )
