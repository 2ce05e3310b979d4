"""The public satisfaction survey (群众满意度): /start s_<token> and the answer buttons, for
anyone, without registering. Transport only: the rules are in services/assessment/survey.py.

``/start s_<token>`` (routed here by handlers/registry.py) shows the unit and year with three buttons
``sv:a:<token>:<s|b|u>`` (满意 / 基本满意 / 不满意). An answer opens the dialogue ``survey`` (state
``comment``): the next text message is an optional comment, or Skip ``sv:skip``. The gate
(handlers/guard.py) lets strangers through for exactly these updates: see ``lets_through``.
"""

from __future__ import annotations

import contextlib

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from config.i18n import Translator
from handlers.common import deps, drop_buttons, message_text, reply, who
from handlers.context import Context
from handlers.dialogue import END, DialogueView, conv_ref, say
from handlers.survey_text import question, recorded, thanks
from services.assessment import survey
from services.core.errors import DialogueEnded, DomainError, DuplicateUpdate

CALLBACK_PREFIX = "sv:"



async def lets_through(update: Update, context: Context) -> bool:
    """For the gate: is this update of a stranger (or a deactivated person) part of the public survey?
    The answer buttons, and a plain text message of someone whose answer waits for its comment.
    (``/start s_…`` is a public command already.)"""
    chat, query, message = update.effective_chat, update.callback_query, update.message
    if chat is None or chat.type != "private":
        return False
    if query is not None:
        return (query.data or "").startswith(CALLBACK_PREFIX)
    if message is None or not message.text or message.text.startswith("/"):
        return False
    if update.effective_user is None:
        return False
    return await survey.awaiting_comment(conv_ref(update), uow=deps(context).db.read_uow())


async def start_link(update: Update, context: Context) -> None:
    """``/start s_<token>``: the question with its three answers, or why it cannot be answered."""
    token = (context.args[0] if context.args else "").removeprefix(survey.PAYLOAD_PREFIX)
    d = deps(context)
    _, tr = await who(update, context)
    assert update.effective_user is not None
    try:
        view = await survey.open_link(token, secret=d.settings.survey_key, telegram_user_id=update.effective_user.id,
                                      uow=d.db.uow(), clock=d.clock)
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    if view.answered_on is not None:
        await reply(update, tr("survey.already", unit=view.unit_name, year=view.year,
                               date=view.answered_on.isoformat()))
        return
    text, markup = question(view, tr)
    await reply(update, text, reply_markup=markup)


async def answer(update: Update, context: Context) -> object:
    """``sv:a:<token>:<s|b|u>``: record the answer, then offer the optional comment."""
    query = update.callback_query
    assert query is not None and query.data is not None
    d = deps(context)
    _, tr = await who(update, context)
    _, _, token, choice = [*query.data.split(":"), "", ""][:4]
    try:
        view = await survey.answer(token, choice, secret=d.settings.survey_key, conv=conv_ref(update),
                                   update_id=update.update_id, uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        return None
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return END
    with contextlib.suppress(BadRequest):  # the question keeps its text, shows the choice, loses its buttons
        assert query.message is not None
        await query.edit_message_text(recorded(view, tr), parse_mode=ParseMode.HTML, reply_markup=None)
    text, markup = thanks(view, tr)
    await reply(update, text, reply_markup=markup)
    return survey.COMMENT


async def _commented(update: Update, context: Context, snap: survey.Comment, tr: Translator) -> None:
    await drop_buttons(update)
    await reply(update, tr(f"survey.comment_{snap.outcome}"))


async def _refuse(update: Update, tr: Translator, exc: DomainError) -> None:
    """A comment too long is said (the answer still waits for one); no answer waiting: nothing to say."""
    if isinstance(exc, DialogueEnded):
        if update.callback_query is not None:
            await update.callback_query.answer()
        return
    await say(update, tr, exc)


VIEW = DialogueView(survey.DIALOGUE, _commented, unexpected="survey.no_comment", cancelled="survey.comment_skipped",
                    nothing_to_cancel="survey.comment_skipped", refuse=_refuse)


async def comment_text(update: Update, context: Context) -> object:
    """The next text message after an answer: its comment."""
    return await VIEW.step(update, context, survey.comment, message_text(update))


async def skip(update: Update, context: Context) -> object:
    """Skip: no comment."""
    return await VIEW.step(update, context, survey.comment, None)


def conversation() -> ConversationHandler:
    private = filters.ChatType.PRIVATE
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(answer, pattern=r"^sv:a:[A-Za-z0-9_-]{1,40}:[sbu]$")],
        states={survey.COMMENT: [MessageHandler(private & filters.TEXT & ~filters.COMMAND, comment_text),
                          CallbackQueryHandler(skip, pattern=r"^sv:skip$")]},
        fallbacks=[],
        name=survey.DIALOGUE.name,
        persistent=True,
        allow_reentry=True,
    )
