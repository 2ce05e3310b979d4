"""/appeal during public notice (公示) and the office's Accept / Reject.

A cadre's dialogue (``appeal``): /appeal shows the unit's published result and asks for the reason
(AWAIT_REASON); the reason is shown back with Send ``apl:send`` / Cancel ``apl:cancel`` (CONFIRM; a new
text replaces the reason). The office's dialogue (``appeal_office``): Accept ``apl:ok:<id>`` or Reject
``apl:no:<id>`` on the appeal's message asks for the decision's text (AWAIT_TEXT): "<points> <reason>"
to accept, the reason to reject. /cancel leaves either. Transport only: services/assessment/appeal.py.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from config.i18n import Translator
from handlers.common import cancel_dialogue, conv_ref, deps, reply, who
from handlers.context import Context
from services.assessment import appeal as dialogue
from services.assessment.appeal import OfficeStep, Step
from services.assessment.appeal_records import AppealView
from services.core.errors import DomainError, DuplicateUpdate
from services.scoring import text as results_text

END = ConversationHandler.END
# Refusals after which a step is not worth staying in (anything but a reason or a decision text to fix).
_STAY = {"appeal.reason_required", "appeal.reason_too_long", "appeal.bad_points", "appeal.need_points_reason",
         "appeal.decision_reason_required"}


def _confirm_buttons(tr: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(tr("appeal.btn_send"), callback_data="apl:send"),
                                  InlineKeyboardButton(tr("appeal.btn_cancel"), callback_data="apl:cancel")]])


async def _refuse(update: Update, tr: Translator, exc: DomainError) -> object:
    query = update.callback_query
    if query is not None:
        await query.answer(Translator(tr.lang, html=False)(exc.key, **exc.params), show_alert=True)
    else:
        await reply(update, tr(exc.key, **exc.params))
    return None if exc.key in _STAY else END


# ---------------------------------------------------------------------------------- the cadre
async def start(update: Update, context: Context) -> object:
    d = deps(context)
    _, tr = await who(update, context)
    try:
        draft = await dialogue.begin(conv=conv_ref(update), update_id=update.update_id, uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        return None
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return END
    s = draft.standing
    await reply(update, "\n".join([results_text.summary(s.result, tr), "",
                                   tr("appeal.prompt", until=s.appeal_until.strftime("%Y-%m-%d %H:%M"))]))
    return Step.AWAIT_REASON


async def reason(update: Update, context: Context) -> object:
    d = deps(context)
    _, tr = await who(update, context)
    assert update.effective_message is not None
    try:
        draft = await dialogue.give_reason(update.effective_message.text or "", conv=conv_ref(update),
                                           update_id=update.update_id, uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        return None
    except DomainError as exc:
        return await _refuse(update, tr, exc)
    await reply(update, tr("appeal.confirm_prompt", unit=draft.standing.result.unit_name, reason=draft.reason),
                reply_markup=_confirm_buttons(tr))
    return Step.CONFIRM


async def send(update: Update, context: Context) -> object:
    d = deps(context)
    _, tr = await who(update, context)
    try:
        view = await dialogue.confirm(conv=conv_ref(update), update_id=update.update_id, uow=d.db.uow(),
                                      clock=d.clock)
    except DuplicateUpdate:
        return None
    except DomainError as exc:
        return await _refuse(update, tr, exc)
    await reply(update, tr("appeal.filed", number=view.id, unit=view.unit_name))
    return END


async def cancel(update: Update, context: Context) -> object:
    await cancel_dialogue(update, context, dialogue.cancel, "appeal.cancelled", "appeal.nothing_to_cancel")
    return END


async def stray(update: Update, context: Context) -> object:
    _, tr = await who(update, context)
    await reply(update, tr("appeal.unexpected"))
    return None


def build_conversation() -> ConversationHandler:
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
        name=dialogue.CONVERSATION,
        persistent=True,
        allow_reentry=True,
    )


# ---------------------------------------------------------------------------------- the office
def _decided(view: AppealView, tr: Translator) -> str:
    if view.status == "accepted":
        return tr("appeal.decided_accept", number=view.id, unit=view.unit_name,
                  correction=results_text.display(view.correction) if view.correction is not None else "0.00",
                  total=results_text.display(view.total) if view.total is not None else "—",
                  rank=view.rank if view.rank is not None else "—", reason=view.decision_reason or "")
    return tr("appeal.decided_reject", number=view.id, unit=view.unit_name, reason=view.decision_reason or "")


async def decide_begin(update: Update, context: Context) -> object:
    d = deps(context)
    _, tr = await who(update, context)
    query = update.callback_query
    assert query is not None and query.data is not None
    _, action, number = query.data.split(":")
    try:
        view = await dialogue.begin_decision(int(number), action == "ok", conv=conv_ref(update),
                                             update_id=update.update_id, uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        await query.answer()
        return None
    except DomainError as exc:
        return await _refuse(update, tr, exc)
    if view.already:
        await query.answer(Translator(tr.lang, html=False)("appeal.already_decided", number=view.id,
                                                           name=view.decided_by or ""), show_alert=True)
        return END
    key = "appeal.decide_prompt_accept" if action == "ok" else "appeal.decide_prompt_reject"
    await reply(update, tr(key, number=view.id, unit=view.unit_name, reason=view.reason))
    return OfficeStep.AWAIT_TEXT


async def decide_text(update: Update, context: Context) -> object:
    d = deps(context)
    _, tr = await who(update, context)
    assert update.effective_message is not None
    try:
        view = await dialogue.give_decision(update.effective_message.text or "", conv=conv_ref(update),
                                            update_id=update.update_id, uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        return None
    except DomainError as exc:
        return await _refuse(update, tr, exc)
    if view.already:
        await reply(update, tr("appeal.already_decided", number=view.id, name=view.decided_by or ""))
    else:
        await reply(update, _decided(view, tr))
    return END


async def decide_cancel(update: Update, context: Context) -> object:
    await cancel_dialogue(update, context, dialogue.cancel_decision, "appeal.decision_cancelled",
                          "appeal.nothing_to_cancel")
    return END


async def decide_stray(update: Update, context: Context) -> object:
    _, tr = await who(update, context)
    await reply(update, tr("appeal.decide_unexpected"))
    return None


def build_office_conversation() -> ConversationHandler:
    private = filters.ChatType.PRIVATE
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(decide_begin, pattern=r"^apl:(ok|no):\d+$")],
        states={OfficeStep.AWAIT_TEXT: [MessageHandler(private & filters.TEXT & ~filters.COMMAND, decide_text)]},
        fallbacks=[CommandHandler("cancel", decide_cancel),
                   CallbackQueryHandler(decide_begin, pattern=r"^apl:(ok|no):\d+$"),
                   MessageHandler(private & ~filters.COMMAND, decide_stray)],
        name=dialogue.OFFICE_CONVERSATION,
        persistent=True,
        allow_reentry=True,
    )
