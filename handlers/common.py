"""Small helpers every handler uses: dependencies, the viewer, their language, replying."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from config.i18n import Translator, normalise_language
from handlers.context import Context, Deps
from services.core.errors import DomainError, DuplicateUpdate
from services.people import viewer as people
from services.people.viewer import Viewer

T = TypeVar("T")

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
        viewer = await people.viewer_for(user.id, uow=d.db.hot_read_uow()) if user else None
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


def button_data(update: Update) -> str:
    """The data of the button pressed."""
    assert update.callback_query is not None and update.callback_query.data is not None
    return update.callback_query.data


def message_text(update: Update) -> str:
    """The text of the message sent ("" for none)."""
    assert update.effective_message is not None
    return update.effective_message.text or ""


def buttons(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """An inline keyboard: rows of (label, callback data); empty rows are left out."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data) for text, data in row]
                                 for row in rows if row])


async def decide_by_button(update: Update, context: Context, decide: Callable[..., Awaitable[T]], *args: object,
                           shown: Callable[[T, Translator], str], toast: Callable[[T], str]) -> None:
    """An office's button that decides something (Approve / Reject, Publish / Discard): the service decides
    in the press's transaction; the message that carried the buttons then reads the decision (``shown``),
    without buttons, and the press is answered with the message ``toast`` names. A refusal is an alert on
    the button, and nothing changes."""
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    d = deps(context)
    _, tr = await who(update, context)
    plain = Translator(tr.lang, html=False)
    try:
        result = await decide(*args, user_id=update.effective_user.id, update_id=update.update_id, uow=d.db.uow(),
                              clock=d.clock)
    except DuplicateUpdate:
        await query.answer()
        return
    except DomainError as exc:
        await query.answer(plain(exc.key, **exc.params), show_alert=True)
        return
    try:
        await query.edit_message_text(shown(result, tr), parse_mode=ParseMode.HTML, reply_markup=None)
    except BadRequest as exc:  # the same text again (a second press on the same message)
        if "not modified" not in str(exc).lower():
            raise
    await query.answer(plain(toast(result)))


async def stale_button(update: Update, context: Context) -> None:
    """A press nothing took: a button of an old message, outside its dialogue's step, or data that is not
    ours. Telegram shows a spinner until a press is answered: say the button no longer applies."""
    query = update.callback_query
    if query is None:
        return
    _, tr = await who(update, context)
    await query.answer(Translator(tr.lang, html=False)("error.stale_button"))


async def nothing_to_cancel(update: Update, context: Context) -> None:
    """/cancel outside any dialogue."""
    _, tr = await who(update, context)
    await reply(update, tr("error.nothing_to_cancel"))
