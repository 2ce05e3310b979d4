"""/report: the guided progress report (ConversationHandler; the draft and state live in the database).

Flow (states are services.progress.report.Step; see report.mmd):
/report [code] → CHOOSE_TARGET → AWAIT_VALUE → (CONFIRM_DECREASE → AWAIT_REASON | CONFIRM_HIGH) →
AWAIT_NOTE → AWAIT_FILES → CONFIRM → end. /cancel anywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from config.i18n import Translator
from handlers.common import cancel_dialogue, conv_ref, deps, reply, run_step, who
from handlers.context import Context
from handlers.report_text import confirmed, prompt
from services.core.errors import DomainError, DuplicateUpdate
from services.core.files import IncomingFile
from services.progress import report
from services.progress.report import Snapshot, Step, StepMismatch

MAX_FILE_BYTES = 20 * 1024 * 1024  # the Bot API serves files up to 20 MB
END = ConversationHandler.END




async def _show(update: Update, context: Context, snap: Snapshot, tr: Translator) -> object:
    text, markup = prompt(snap, tr)
    await reply(update, text, reply_markup=markup)
    return END if snap.step in (Step.DONE, Step.CANCELLED) else snap.step


_ENDING = {"report.no_draft", "person.deactivated", "error.not_registered", "report.no_units",
           "report.nothing_to_report"}
_ENDING_AT_BEGIN = {"report.not_your_target", "report.target_closed"}  # /report CODE of a target refused


async def _step(update: Update, context: Context, call: Callable[..., Awaitable[Snapshot]], *args: object) -> object:
    """Run one step of the service and show where the draft now stands; errors keep the step."""
    ends = (lambda key: key in _ENDING or key in _ENDING_AT_BEGIN) if call is report.begin else _ENDING.__contains__
    return await run_step(update, context, call, *args, show=_show, ends=ends)


async def begin(update: Update, context: Context) -> object:
    """/report [target code]"""
    code = context.args[0] if context.args else None
    return await _step(update, context, report.begin, code)


async def choose(update: Update, context: Context) -> object:
    assert update.callback_query is not None and update.callback_query.data is not None
    return await _step(update, context, report.choose, int(update.callback_query.data.rsplit(":", 1)[1]))


async def value(update: Update, context: Context) -> object:
    assert update.effective_message is not None
    return await _step(update, context, report.give_value, update.effective_message.text or "")


async def decide(update: Update, context: Context) -> object:
    assert update.callback_query is not None and update.callback_query.data is not None
    return await _step(update, context, report.decide, update.callback_query.data.split(":", 1)[1])


async def text(update: Update, context: Context) -> object:
    assert update.effective_message is not None
    return await _step(update, context, report.give_text, update.effective_message.text or "")


async def skip(update: Update, context: Context) -> object:
    return await _step(update, context, report.give_text, None)


async def file(update: Update, context: Context) -> object:
    """A photo or document: fetched with getFile, stored by content, then added to the draft."""
    d = deps(context)
    message = update.effective_message
    assert message is not None
    if message.photo:
        media, kind, mime, name = message.photo[-1], "photo", "image/jpeg", None
    else:
        assert message.document is not None
        media, kind = message.document, "document"
        mime, name = message.document.mime_type or "application/octet-stream", message.document.file_name
    if media.file_size and media.file_size > MAX_FILE_BYTES:
        _, tr = await who(update, context)
        await reply(update, tr("report.file_too_big"))
        return None
    data = bytes(await (await media.get_file()).download_as_bytearray())
    sha, key = await asyncio.to_thread(d.storage.put, data)
    incoming = IncomingFile(data=data, sha256=sha, storage_key=key, mime_type=mime,
                                      telegram_file_id=media.file_id, telegram_file_unique_id=media.file_unique_id,
                                      kind=kind, file_name=name)
    return await _step(update, context, report.add_file, incoming)


async def done(update: Update, context: Context) -> object:
    return await _step(update, context, report.to_summary)


async def edit(update: Update, context: Context) -> object:
    return await _step(update, context, report.edit)


async def confirm(update: Update, context: Context) -> object:
    """Confirm: the only step that writes a report. Also answers a second press after the end."""
    assert update.callback_query is not None and update.callback_query.data is not None
    d = deps(context)
    _, tr = await who(update, context)
    draft_id = int(update.callback_query.data.rsplit(":", 1)[1])
    try:
        snap = await report.confirm(draft_id, conv=conv_ref(update), update_id=update.update_id,
                                       uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        return None
    except StepMismatch as exc:
        return await _show(update, context, exc.snapshot, tr)
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return END
    await update.callback_query.answer()
    if update.callback_query.message is not None and snap.notice is None:
        await update.callback_query.edit_message_reply_markup(None)
    message = update.effective_message
    assert message is not None
    await message.reply_text(confirmed(snap, tr), parse_mode=ParseMode.HTML)
    return END


async def cancel(update: Update, context: Context) -> object:
    """/cancel or the Cancel button: drop the draft, write nothing."""
    await cancel_dialogue(update, context, report.cancel, "report.cancelled", "report.nothing_to_cancel")
    return END


async def stray(update: Update, context: Context) -> object:
    """Anything the current step does not take: say what is expected, stay at the step."""
    d = deps(context)
    _, tr = await who(update, context)
    try:
        snap = await report.resume(conv=conv_ref(update), uow=d.db.uow())
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return END
    if snap is None:
        return END
    await reply(update, tr("report.unexpected"))
    return await _show(update, context, snap, tr)


def build_report_conversation() -> ConversationHandler:
    text_only = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CommandHandler("report", begin)],
        states={
            Step.CHOOSE_TARGET: [CallbackQueryHandler(choose, pattern=r"^rep:t:\d+$")],
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
                CallbackQueryHandler(confirm, pattern=r"^rep:ok:\d+$"),
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
        name=report.CONVERSATION,
        persistent=True,
        allow_reentry=True,
    )
