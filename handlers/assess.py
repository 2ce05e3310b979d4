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
from handlers.common import button_data, deps, message_text, reply, who
from handlers.context import Context
from handlers.dialogue import DialogueView
from services.assessment import assess
from services.assessment.assess import Snapshot, Step
from services.core.errors import DomainError


async def _show(update: Update, context: Context, snap: Snapshot, tr: Translator) -> None:
    text, markup = prompt(snap, tr)
    await reply(update, text, reply_markup=markup)


VIEW = DialogueView(assess.DIALOGUE, _show, unexpected="peer.unexpected", cancelled="peer.cancelled",
                    nothing_to_cancel="peer.nothing_to_cancel")


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
    return await VIEW.step(update, context, assess.begin, int(button_data(update).rsplit(":", 1)[1]))


def _text_at(step: Step) -> Callable[[Update, Context], Awaitable[object]]:
    async def handle(update: Update, context: Context) -> object:
        return await VIEW.step(update, context, assess.advance, step, message_text(update))
    return handle


async def skip(update: Update, context: Context) -> object:
    """Skip on the comment question: no comment."""
    return await VIEW.step(update, context, assess.advance, Step.COMMENT, None)


async def edit(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, assess.edit)


async def confirm(update: Update, context: Context) -> object:
    """Confirm: the only step that writes a score. Also answers a second press after the end."""
    return await VIEW.confirm(update, context, assess.confirm, int(button_data(update).rsplit(":", 1)[1]))


async def cancel(update: Update, context: Context) -> object:
    """/cancel or the Cancel button: drop the dialogue, write nothing."""
    return await VIEW.cancel(update, context)


async def stray(update: Update, context: Context) -> object:
    """Anything the current step does not take: say what is expected, stay at the step."""
    return await VIEW.stray(update, context)


def conversation() -> ConversationHandler:
    text_only = filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(pick, pattern=r"^as:u:\d{1,18}$")],
        states={
            Step.SCORE: [MessageHandler(text_only, _text_at(Step.SCORE))],
            Step.COMMENT: [MessageHandler(text_only, _text_at(Step.COMMENT)),
                           CallbackQueryHandler(skip, pattern=r"^as:skip$")],
            Step.CONFIRM: [CallbackQueryHandler(confirm, pattern=r"^as:y:\d{1,18}$"),
                           CallbackQueryHandler(edit, pattern=r"^as:e$")],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CallbackQueryHandler(cancel, pattern=r"^as:x$"),
            # Only what is meant for this dialogue: other features' commands and buttons still work in it.
            MessageHandler(filters.ChatType.PRIVATE & ~filters.COMMAND, stray),
            CallbackQueryHandler(stray, pattern=r"^as:(skip|e|y:\d{1,18})$"),
        ],
        name=assess.DIALOGUE.name,
        persistent=True,
        allow_reentry=True,
    )
