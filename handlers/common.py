"""Small helpers every handler uses: dependencies, the viewer, their language, replying."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ConversationHandler

from config.i18n import Translator, normalise_language
from handlers.context import Context, Deps
from services.core import conversations
from services.core.conversations import ConvRef
from services.core.errors import DomainError, DuplicateUpdate, StepMismatch
from services.people import viewer as people
from services.people.viewer import Viewer

# The button press answered while handling the current update (Telegram refuses a second answer).
# Every update is handled in a task of its own, so this starts empty for each: nothing is shared
# between updates, nor between the bots of several counties in one process.
_ANSWERED: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("duban_answered", default=None)


def deps(context: Context) -> Deps:
    return context.bot_data


def language_of(update: Update, viewer: Viewer | None, default: str) -> str:
    """The person's chosen language, else their Telegram app's language if we have it, else the default."""
    if viewer is not None and viewer.language:
        return viewer.language
    user = update.effective_user
    if user is not None and user.language_code:
        return normalise_language(user.language_code, default)
    return default


async def who(update: Update, context: Context) -> tuple[Viewer | None, Translator]:
    """The person behind the update (looked up once per update by the gate) and their language."""
    d = deps(context)
    user = update.effective_user
    if update.update_id in d.viewers:
        viewer = d.viewers[update.update_id]
    else:
        viewer = await people.viewer_for(user.id, uow=d.db.read_uow()) if user else None
    return viewer, Translator(language_of(update, viewer, d.settings.locale))


def forget(update: Update, context: Context) -> None:
    """Drop what was remembered for this update (the gate's viewer lookup)."""
    viewers = deps(context).viewers
    viewers.pop(update.update_id, None)
    if len(viewers) > 10_000:  # updates that never reached the last group (should not happen)
        viewers.clear()


def display_name(update: Update) -> str:
    user = update.effective_user
    return user.full_name if user else ""


async def reply(update: Update, text: str, **kwargs: object) -> None:
    """Answer in the chat the update came from (a reply, not a push: pushes go through the outbox)."""
    query = update.callback_query
    if query is not None:
        answered = _ANSWERED.get()
        if answered is None:
            answered = set()
            _ANSWERED.set(answered)
        if query.id not in answered:
            answered.add(query.id)
            await query.answer()  # a button press is answered once (Telegram refuses a second answer)
    message = update.effective_message
    if message is not None:
        await message.reply_text(text, parse_mode=ParseMode.HTML, **kwargs)  # type: ignore[arg-type]


async def drop_buttons(update: Update) -> None:
    """Take the buttons off the message a press came from (after a second press they are gone already)."""
    query = update.callback_query
    if query is not None and query.message is not None:
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(None)


def conv_ref(update: Update) -> ConvRef:
    """Which dialogue an update belongs to: PTB's conversation key (chat, user), as stored."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    return ConvRef(key=conversations.key_text((chat.id, user.id)), chat_id=chat.id, user_id=user.id)


Show = Callable[[Update, Context, Any, Translator], Awaitable[object]]
Refuse = Callable[[Update, Translator, DomainError], Awaitable[None]]


async def _say_refusal(update: Update, tr: Translator, exc: DomainError) -> None:
    await reply(update, tr(exc.key, **exc.params))


async def run_step(
    update: Update, context: Context, call: Callable[..., Awaitable[Any]], *args: object,
    show: Show, ends: Callable[[str], bool], refuse: Refuse = _say_refusal, **kwargs: object,
) -> object:
    """One step of any dialogue: the service does it in the update's transaction (state, draft and the
    update id together), then ``show`` renders where the dialogue now stands and returns the next
    state. A redelivered update does nothing; an old button or a restart re-prompts the step the
    dialogue is at; a refusal is said and keeps the step, unless ``ends(key)`` ends the dialogue."""
    d = deps(context)
    _, tr = await who(update, context)
    try:
        snap = await call(*args, **kwargs, conv=conv_ref(update), update_id=update.update_id, uow=d.db.uow(),
                          clock=d.clock)
    except DuplicateUpdate:
        return None
    except StepMismatch as exc:
        return await show(update, context, exc.snapshot, tr)
    except DomainError as exc:
        await refuse(update, tr, exc)
        return ConversationHandler.END if ends(exc.key) else None
    return await show(update, context, snap, tr)


async def cancel_dialogue(
    update: Update, context: Context, cancel: Callable[..., Awaitable[bool]], done_key: str, none_key: str,
    **reply_kwargs: object,
) -> None:
    """/cancel (or a Cancel button) in any dialogue: the service drops it in the update's transaction;
    the user hears whether there was anything to drop. Nothing is written either way."""
    d = deps(context)
    _, tr = await who(update, context)
    try:
        had = await cancel(conv=conv_ref(update), update_id=update.update_id, uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        return
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    await reply(update, tr(done_key if had else none_key), **reply_kwargs)
