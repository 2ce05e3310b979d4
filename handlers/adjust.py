"""/adjust <target code> [unit code]: a cadre asks to change a planned value or deadline (目标调整);
the office approves or rejects by buttons (``adj:ok:<id>`` / ``adj:no:<id>``).

Flow (states are services.progress.adjust.Step; see adjust.mmd): /adjust code → CHOOSE_FIELD → AWAIT_VALUE →
AWAIT_REASON → CONFIRM → end. /cancel anywhere. Transport only: the rules are in services/progress/adjust.py.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from config.i18n import Translator
from handlers.adjust_text import decision_text, prompt
from handlers.common import button_data, deps, message_text, reply, who
from handlers.context import Context
from handlers.dialogue import DialogueView
from services.core.errors import DomainError, DuplicateUpdate
from services.progress import adjust as adjustments
from services.progress.adjust import Snapshot, Step


async def _show(update: Update, context: Context, snap: Snapshot, tr: Translator) -> None:
    text, markup = prompt(snap, tr)
    await reply(update, text, reply_markup=markup)


VIEW = DialogueView(adjustments.DIALOGUE, _show, unexpected="adjust.unexpected", cancelled="adjust.cancelled",
                    nothing_to_cancel="adjust.nothing_to_cancel")


async def begin(update: Update, context: Context) -> object:
    """/adjust <target code> [unit code]"""
    code, unit = [*(context.args or []), None, None][:2]
    return await VIEW.step(update, context, adjustments.begin, code, unit)


async def choose(update: Update, context: Context) -> object:
    field = {"p": "planned_value", "d": "deadline"}.get(button_data(update).rsplit(":", 1)[1], "")
    return await VIEW.step(update, context, adjustments.advance, Step.CHOOSE_FIELD, field)


async def value(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, adjustments.advance, Step.AWAIT_VALUE, message_text(update))


async def reason(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, adjustments.advance, Step.AWAIT_REASON, message_text(update))


async def confirm(update: Update, context: Context) -> object:
    """Confirm: the only step that writes a request. Also answers a second press after the end."""
    return await VIEW.confirm(update, context, adjustments.confirm, int(button_data(update).rsplit(":", 1)[1]))


async def cancel(update: Update, context: Context) -> object:
    """/cancel or the Cancel button: drop the dialogue, write nothing."""
    return await VIEW.cancel(update, context)


async def stray(update: Update, context: Context) -> object:
    """Anything the current step does not take: say what is expected, stay at the step."""
    return await VIEW.stray(update, context)


async def decide(update: Update, context: Context) -> None:
    """An admin's Approve / Reject on the office's message: decide, then show the decision on it."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    d = deps(context)
    _, tr = await who(update, context)
    _, action, number = query.data.split(":")
    try:
        r = await adjustments.decide(int(number), action == "ok", user_id=update.effective_user.id,
                                            update_id=update.update_id, uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        await query.answer()
        return
    except DomainError as exc:
        await query.answer(Translator(tr.lang, html=False)(exc.key, **exc.params), show_alert=True)
        return
    text = adjustments.request_text(r, tr.lang) + "\n\n" + decision_text(r, tr)
    if r.already:
        text += "\n" + tr("adjust.already_decided")
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=None)
    except BadRequest as exc:  # the same text again (a second press on the same message)
        if "not modified" not in str(exc).lower():
            raise
    plain = Translator(tr.lang, html=False)
    await query.answer(plain("adjust.already_decided") if r.already else
                       plain("adjust.answer_approved" if r.status == "approved" else "adjust.answer_rejected"))


def conversation() -> ConversationHandler:
    text_only = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CommandHandler("adjust", begin)],
        states={
            Step.CHOOSE_FIELD: [CallbackQueryHandler(choose, pattern=r"^adj:f:[pd]$")],
            Step.AWAIT_VALUE: [MessageHandler(text_only, value)],
            Step.AWAIT_REASON: [MessageHandler(text_only, reason)],
            Step.CONFIRM: [CallbackQueryHandler(confirm, pattern=r"^adj:y:\d+$")],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CallbackQueryHandler(cancel, pattern=r"^adj:x$"),
            CommandHandler("adjust", begin),
            # Only what is meant for this dialogue: other features' commands and buttons still work in it.
            MessageHandler(~filters.COMMAND, stray),
            CallbackQueryHandler(stray, pattern=r"^adj:"),
        ],
        name=adjustments.DIALOGUE.name,
        persistent=True,
        allow_reentry=True,
    )
