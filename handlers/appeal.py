"""/appeal during public notice (公示) and the office's Accept / Reject (two dialogues on the skeleton;
the service is services/assessment/appeal.py).

A cadre's dialogue (``appeal``): /appeal shows the unit's published result and asks for the reason
(AWAIT_REASON); the reason is shown back with Send ``apl:send`` / Cancel ``apl:cancel`` (CONFIRM; a new
text replaces the reason). The office's dialogue (``appeal_office``): Accept ``apl:ok:<id>`` or Reject
``apl:no:<id>`` on the appeal's message asks for the decision's text (AWAIT_TEXT): "<points> <reason>"
to accept, the reason to reject. /cancel leaves either. See appeal.mmd.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from config.i18n import Translator
from handlers.appeal_text import decided, filing
from handlers.common import button_data, message_text, reply
from handlers.context import Context
from handlers.dialogue import DialogueView, alert
from services.assessment import appeal
from services.assessment.appeal import Decision, Filing, OfficeStep, Step
from services.core.dialogue import DONE


async def _show_filing(update: Update, context: Context, snap: Filing, tr: Translator) -> None:
    text, markup = filing(snap.step, snap.standing, snap.reason, snap.filed, tr)
    await reply(update, text, reply_markup=markup)


async def _show_decision(update: Update, context: Context, snap: Decision, tr: Translator) -> None:
    view = snap.view
    if snap.step != DONE:
        key = "appeal.decide_prompt_accept" if snap.accept else "appeal.decide_prompt_reject"
        await reply(update, tr(key, number=view.id, unit=view.unit_name, reason=view.reason))
    elif view.already and update.callback_query is not None:  # Accept / Reject on an appeal decided before
        await update.callback_query.answer(Translator(tr.lang, html=False)(
            "appeal.already_decided", number=view.id, name=view.decided_by or ""), show_alert=True)
    elif view.already:
        await reply(update, tr("appeal.already_decided", number=view.id, name=view.decided_by or ""))
    else:
        await reply(update, decided(view, tr))


FILING = DialogueView(appeal.APPEAL, _show_filing, unexpected="appeal.unexpected", cancelled="appeal.cancelled",
                      nothing_to_cancel="appeal.nothing_to_cancel", refuse=alert, reprompt=False)
DECISION = DialogueView(appeal.DECISION, _show_decision, unexpected="appeal.decide_unexpected",
                        cancelled="appeal.decision_cancelled", nothing_to_cancel="appeal.nothing_to_cancel",
                        refuse=alert, reprompt=False)


# ---------------------------------------------------------------------------------- the cadre
async def start(update: Update, context: Context) -> object:
    return await FILING.step(update, context, appeal.begin)


async def reason(update: Update, context: Context) -> object:
    return await FILING.step(update, context, appeal.give_reason, message_text(update))


async def send(update: Update, context: Context) -> object:
    return await FILING.step(update, context, appeal.confirm)


async def cancel(update: Update, context: Context) -> object:
    return await FILING.cancel(update, context)


async def stray(update: Update, context: Context) -> object:
    return await FILING.stray(update, context)


def conversation() -> ConversationHandler:
    private = filters.ChatType.PRIVATE
    text = private & filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CommandHandler("appeal", start, filters=private)],
        states={
            Step.AWAIT_REASON: [MessageHandler(text, reason)],
            Step.CONFIRM: [CallbackQueryHandler(send, pattern=r"^apl:send$"),
                           CallbackQueryHandler(cancel, pattern=r"^apl:cancel$"),
                           MessageHandler(text, reason)],
        },
        fallbacks=[CommandHandler("cancel", cancel), CommandHandler("appeal", start, filters=private),
                   MessageHandler(private & ~filters.COMMAND, stray)],
        name=appeal.APPEAL.name,
        persistent=True,
        allow_reentry=True,
    )


# ---------------------------------------------------------------------------------- the office
async def decide_begin(update: Update, context: Context) -> object:
    _, action, number = button_data(update).split(":")
    return await DECISION.step(update, context, appeal.begin_decision, int(number), action == "ok")


async def decide_text(update: Update, context: Context) -> object:
    return await DECISION.step(update, context, appeal.give_decision, message_text(update))


async def decide_cancel(update: Update, context: Context) -> object:
    return await DECISION.cancel(update, context)


async def decide_stray(update: Update, context: Context) -> object:
    return await DECISION.stray(update, context)


def office_conversation() -> ConversationHandler:
    private = filters.ChatType.PRIVATE
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(decide_begin, pattern=r"^apl:(ok|no):\d{1,18}$")],
        states={OfficeStep.AWAIT_TEXT: [MessageHandler(private & filters.TEXT & ~filters.COMMAND, decide_text)]},
        fallbacks=[CommandHandler("cancel", decide_cancel),
                   CallbackQueryHandler(decide_begin, pattern=r"^apl:(ok|no):\d{1,18}$"),
                   MessageHandler(private & ~filters.COMMAND, decide_stray)],
        name=appeal.DECISION.name,
        persistent=True,
        allow_reentry=True,
    )
