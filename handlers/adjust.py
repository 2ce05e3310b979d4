"""/adjust <target code> [unit code]: a cadre asks to change a planned value or deadline (目标调整);
the office approves or rejects by buttons (``adj:ok:<id>`` / ``adj:no:<id>``).

Flow (states are services.progress.adjust.Step): /adjust code → CHOOSE_FIELD → AWAIT_VALUE → AWAIT_REASON →
CONFIRM → end. /cancel anywhere. Transport only: the rules are in services/progress/adjust.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from config.i18n import Translator
from handlers.common import cancel_dialogue, conv_ref, deps, drop_buttons, reply, run_step, who
from handlers.context import Context
from services.core.errors import DomainError, DuplicateUpdate
from services.plan.values import format_value
from services.progress import adjust
from services.progress.adjust import Request, Snapshot, Step, shown

END = ConversationHandler.END
# Refusals after which there is no dialogue to stay in. Any other refusal keeps the state as it was (a
# refused /adjust leaves a dialogue already in progress where it is, as the rolled-back transaction did).
_ENDING = {"adjust.no_draft", "person.deactivated", "error.not_registered"}




def _buttons(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data) for text, data in row]
                                 for row in rows])


def _target_line(s: Snapshot, tr: Translator) -> str:
    return tr("adjust.target_line", title=s.title, code=s.target_code, unit=s.unit_name,
              planned=format_value(s.planned, s.measure, tr.lang), deadline=s.deadline.isoformat())


def _old(s: Snapshot, tr: Translator) -> str:
    if s.was is not None:
        return _new(s, s.was, tr)
    return format_value(s.planned, s.measure, tr.lang) if s.field == "planned_value" else s.deadline.isoformat()


def _new(s: Snapshot, value: str | None, tr: Translator) -> str:
    return shown(s.field or "", value or "", s.measure, tr.lang, s.deadline)


def prompt(s: Snapshot, tr: Translator) -> tuple[str, InlineKeyboardMarkup | None]:
    """The message that asks for the input of the dialogue's current step."""
    if s.step == Step.CHOOSE_FIELD:
        return (_target_line(s, tr) + "\n" + tr("adjust.choose_field"),
                _buttons([(tr("adjust.btn_planned"), "adj:f:p"), (tr("adjust.btn_deadline"), "adj:f:d")],
                         [(tr("adjust.btn_cancel"), "adj:x")]))
    if s.step == Step.AWAIT_VALUE:
        if s.field == "planned_value":
            return tr("adjust.ask_planned", current=_old(s, tr), measure=s.measure), None
        return tr("adjust.ask_deadline", current=_old(s, tr)), None
    if s.step == Step.AWAIT_REASON:
        assert s.new_value is not None
        return (tr("adjust.understood", field=tr(f"adjust.field.{s.field}"), value=_new(s, s.new_value, tr))
                + "\n" + tr("adjust.ask_reason", min=adjust.MIN_REASON)), None
    assert s.new_value is not None
    change = tr("adjust.summary", title=s.title, code=s.target_code, unit=s.unit_name,
                field=tr(f"adjust.field.{s.field}"), old=_old(s, tr), new=_new(s, s.new_value, tr),
                reason=s.reason or "")
    if s.step == Step.CONFIRM:
        return change, _buttons([(tr("adjust.btn_confirm"), f"adj:y:{s.serial}"), (tr("adjust.btn_cancel"), "adj:x")])
    return tr("adjust.submitted", number=s.adjustment_id) + "\n" + change, None


async def _show(update: Update, context: Context, snap: Snapshot, tr: Translator) -> object:
    text, markup = prompt(snap, tr)
    await reply(update, text, reply_markup=markup)
    return END if snap.step == Step.DONE else snap.step


async def _step(update: Update, context: Context, call: Callable[..., Awaitable[Snapshot]], *args: object) -> object:
    """Run one step of the service and show where the dialogue now stands; refusals keep the step."""
    return await run_step(update, context, call, *args, show=_show, ends=_ENDING.__contains__)


async def begin(update: Update, context: Context) -> object:
    """/adjust <target code> [unit code]"""
    args = context.args or []
    code, unit = [*args, None, None][:2]
    return await _step(update, context, adjust.begin, code, unit)


async def choose(update: Update, context: Context) -> object:
    assert update.callback_query is not None and update.callback_query.data is not None
    field = {"p": "planned_value", "d": "deadline"}.get(update.callback_query.data.rsplit(":", 1)[1], "")
    return await _step(update, context, adjust.advance, Step.CHOOSE_FIELD, field)


async def value(update: Update, context: Context) -> object:
    assert update.effective_message is not None
    return await _step(update, context, adjust.advance, Step.AWAIT_VALUE, update.effective_message.text or "")


async def reason(update: Update, context: Context) -> object:
    assert update.effective_message is not None
    return await _step(update, context, adjust.advance, Step.AWAIT_REASON, update.effective_message.text or "")


async def confirm(update: Update, context: Context) -> object:
    """Confirm: the only step that writes a request. Also answers a second press after the end."""
    assert update.callback_query is not None and update.callback_query.data is not None
    serial = int(update.callback_query.data.rsplit(":", 1)[1])
    result = await _step(update, context, adjust.confirm, serial)
    if result == END:
        await drop_buttons(update)
    return result


async def cancel(update: Update, context: Context) -> object:
    """/cancel or the Cancel button: drop the dialogue, write nothing."""
    await cancel_dialogue(update, context, adjust.cancel, "adjust.cancelled", "adjust.nothing_to_cancel")
    return END


async def stray(update: Update, context: Context) -> object:
    """Anything the current step does not take: say what is expected, stay at the step."""
    d = deps(context)
    _, tr = await who(update, context)
    try:
        snap = await adjust.resume(conv=conv_ref(update), uow=d.db.uow())
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return END
    if snap is None:
        return END
    await reply(update, tr("adjust.unexpected"))
    return await _show(update, context, snap, tr)


def decision_text(r: Request, tr: Translator) -> str:
    """Who decided, when, and from when it applies."""
    when = r.decided_at.strftime("%Y-%m-%d %H:%M") if r.decided_at else ""
    if r.status == "approved":
        return tr("adjust.decided_approved", name=r.decided_by or "?", when=when,
                  date=r.effective_from.isoformat() if r.effective_from else "")
    return tr("adjust.decided_rejected", name=r.decided_by or "?", when=when)


async def decide(update: Update, context: Context) -> None:
    """An admin's Approve / Reject on the office's message: decide, then show the decision on it."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    d = deps(context)
    _, tr = await who(update, context)
    _, action, number = query.data.split(":")
    try:
        r = await adjust.decide(int(number), action == "ok", user_id=update.effective_user.id,
                                            update_id=update.update_id, uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        await query.answer()
        return
    except DomainError as exc:
        await query.answer(Translator(tr.lang, html=False)(exc.key, **exc.params), show_alert=True)
        return
    text = adjust.request_text(r, tr.lang) + "\n\n" + decision_text(r, tr)
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


def build_adjust_conversation() -> ConversationHandler:
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
        name=adjust.CONVERSATION,
        persistent=True,
        allow_reentry=True,
    )
