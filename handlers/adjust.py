"""/adjust <target code> [unit code]: a cadre asks to change a planned value or deadline (目标调整);
the office approves or rejects by buttons (``adj:ok:<id>`` / ``adj:no:<id>``).

Flow (states are services.progress.adjust.Step; see adjust.mmd): /adjust code → CHOOSE_FIELD → AWAIT_VALUE →
AWAIT_REASON → CONFIRM → end. /cancel anywhere. Transport only: the rules are in services/progress/adjust.py.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from config.i18n import Translator
from handlers.adjust_text import decision_text, prompt
from handlers.common import button_data, decide_by_button, message_text, reply
from handlers.context import Context
from handlers.dialogue import DialogueView
from services.progress import adjust as adjustments
from services.progress.adjust import Request, Snapshot, Step


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


def _decided(r: Request, tr: Translator) -> str:
    text = adjustments.request_text(r, tr.lang) + "\n\n" + decision_text(r, tr)
    return text + ("\n" + tr("adjust.already_decided") if r.already else "")


async def decide(update: Update, context: Context) -> None:
    """An admin's Approve / Reject on the office's message: decide, then show the decision on it."""
    _, action, number = button_data(update).split(":")
    await decide_by_button(update, context, adjustments.decide, int(number), action == "ok", shown=_decided,
                           toast=lambda r: "adjust.already_decided" if r.already else
                           "adjust.answer_approved" if r.status == "approved" else "adjust.answer_rejected")


def conversation() -> ConversationHandler:
    text_only = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CommandHandler("adjust", begin)],
        states={
            Step.CHOOSE_FIELD: [CallbackQueryHandler(choose, pattern=r"^adj:f:[pd]$")],
            Step.AWAIT_VALUE: [MessageHandler(text_only, value)],
            Step.AWAIT_REASON: [MessageHandler(text_only, reason)],
            Step.CONFIRM: [CallbackQueryHandler(confirm, pattern=r"^adj:y:\d{1,18}$")],
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
