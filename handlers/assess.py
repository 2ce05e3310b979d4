"""Cross assessment (交叉考核) and inspection assessment (巡察考核): the scoring conversation
of assessors and inspection-group members, /assess. Transport only: the rules are in
services/assessment/assess.py (the draw in services/assessment/draw.py).

/assess (or the button ``as:list`` of the invitation) lists the scorer's units, still to score first. One
dialogue ``assess`` (states are services.assessment.assess.Step): ``as:u:<row>`` picks a unit → SCORE (typed
0–100; an inspected unit shows the year's visits) → COMMENT (typed, or Skip ``as:skip``) → CONFIRM (Confirm
``as:y:<serial>`` / Edit ``as:e`` / Cancel ``as:x``). /cancel anywhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from config.i18n import Translator
from handlers.assess_text import listing, prompt
from handlers.common import cancel_dialogue, conv_ref, deps, drop_buttons, reply, run_step, who
from handlers.context import Context
from services.assessment import assess
from services.assessment.assess import Snapshot, Step, StepMismatch
from services.core.errors import DomainError

END = ConversationHandler.END
# Refusals after which there is no dialogue to stay in; any other keeps the step.
_ENDING = {"peer.no_draft", "peer.not_yours", "peer.own_unit", "peer.no_round", "peer.round_not_open",
           "peer.no_role_peer", "peer.no_role_inspection", "person.deactivated", "error.not_registered"}


async def _show(update: Update, context: Context, snap: Snapshot, tr: Translator) -> object:
    text, markup = prompt(snap, tr)
    await reply(update, text, reply_markup=markup)
    return END if snap.step == Step.DONE else snap.step


async def _step(update: Update, context: Context, call: Callable[..., Awaitable[Snapshot]], *args: object) -> object:
    """Run one step of the service and show where the dialogue now stands; refusals keep the step."""
    return await run_step(update, context, call, *args, show=_show, ends=_ENDING.__contains__)


async def list_tasks(update: Update, context: Context) -> None:
    """/assess or the button ``as:list``: the units to score (still to score first)."""
    d = deps(context)
    _, tr = await who(update, context)
    assert update.effective_user is not None
    try:
        tasks = await assess.my_tasks(user_id=update.effective_user.id, uow=d.db.read_uow())
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    text, markup = listing(tasks, tr)
    await reply(update, text, reply_markup=markup)


async def pick(update: Update, context: Context) -> object:
    """``as:u:<row>``: begin scoring that unit."""
    assert update.callback_query is not None and update.callback_query.data is not None
    return await _step(update, context, assess.begin, int(update.callback_query.data.rsplit(":", 1)[1]))


def _text_at(step: Step) -> Callable[[Update, Context], Awaitable[object]]:
    async def handle(update: Update, context: Context) -> object:
        assert update.effective_message is not None
        return await _step(update, context, assess.advance, step, update.effective_message.text or "")
    return handle


async def skip(update: Update, context: Context) -> object:
    """Skip on the comment question: no comment."""
    return await _step(update, context, assess.advance, Step.COMMENT, None)


async def edit(update: Update, context: Context) -> object:
    return await _step(update, context, assess.edit)


async def confirm(update: Update, context: Context) -> object:
    """Confirm: the only step that writes a score. Also answers a second press after the end."""
    query = update.callback_query
    assert query is not None and query.data is not None
    result = await _step(update, context, assess.confirm, int(query.data.rsplit(":", 1)[1]))
    if result == END:
        await drop_buttons(update)
    return result


async def cancel(update: Update, context: Context) -> object:
    """/cancel or the Cancel button: drop the dialogue, write nothing."""
    await cancel_dialogue(update, context, assess.cancel, "peer.cancelled", "peer.nothing_to_cancel")
    return END


async def stray(update: Update, context: Context) -> object:
    """Anything the current step does not take: say what is expected, stay at the step."""
    d = deps(context)
    _, tr = await who(update, context)
    try:
        await assess.advance(None, None, conv=conv_ref(update), update_id=None, uow=d.db.uow(), clock=d.clock)
    except StepMismatch as exc:
        await reply(update, tr("peer.unexpected"))
        return await _show(update, context, exc.snapshot, tr)
    except DomainError as exc:
        if exc.key != "peer.no_draft" or update.callback_query is not None:  # an old button: say so
            await reply(update, tr(exc.key, **exc.params))
    return END


def build_conversation() -> ConversationHandler:
    text_only = filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(pick, pattern=r"^as:u:\d+$")],
        states={
            Step.SCORE: [MessageHandler(text_only, _text_at(Step.SCORE))],
            Step.COMMENT: [MessageHandler(text_only, _text_at(Step.COMMENT)),
                           CallbackQueryHandler(skip, pattern=r"^as:skip$")],
            Step.CONFIRM: [CallbackQueryHandler(confirm, pattern=r"^as:y:\d+$"),
                           CallbackQueryHandler(edit, pattern=r"^as:e$")],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CallbackQueryHandler(cancel, pattern=r"^as:x$"),
            # Only what is meant for this dialogue: other features' commands and buttons still work in it.
            MessageHandler(filters.ChatType.PRIVATE & ~filters.COMMAND, stray),
            CallbackQueryHandler(stray, pattern=r"^as:(skip|e|y:\d+)$"),
        ],
        name=assess.CONVERSATION,
        persistent=True,
        allow_reentry=True,
    )
