"""/inspect: a site visit (the dialogue skeleton; the service is services/inspection/inspect.py);
/visits: recent inspections.

Flow (states are services.inspection.inspect.Step; see inspect.mmd):
/inspect [unit] → CHOOSE_UNIT → CHOOSE_TARGET → AWAIT_LOCATION → AWAIT_PHOTOS → AWAIT_FINDINGS →
(AWAIT_VALUE, not for a general visit) → AWAIT_RATING → CONFIRM → end. /cancel anywhere.
"""

from __future__ import annotations

import asyncio

from telegram import ReplyKeyboardRemove, Update
from telegram.constants import ParseMode
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from config.i18n import Translator
from handlers.common import button_data, deps, message_text, reply, who
from handlers.context import Context
from handlers.dialogue import DialogueView
from handlers.files import download, limits, media_of, size_of, too_big
from handlers.inspect_text import location_keyboard, prompt, visits_text
from services.core.errors import DomainError
from services.inspection import inspect, inspect_photos
from services.inspection.inspect import Snapshot, Step
from services.inspection.photo import analyse
from services.inspection.visits import recent_visits


async def _show(update: Update, context: Context, snap: Snapshot, tr: Translator) -> None:
    for text, markup in prompt(snap, tr):
        await reply(update, text, reply_markup=markup)


async def _show_page(update: Update, context: Context, snap: Snapshot, tr: Translator) -> None:
    """Another page of units: the list's own message changes."""
    text, markup = prompt(snap, tr)[0]
    assert update.callback_query is not None
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def _refuse(update: Update, tr: Translator, exc: DomainError) -> None:
    """A refusal; at the location step the location button comes back with it."""
    markup = location_keyboard(tr) if exc.key.startswith("inspect.location_") else None
    await reply(update, tr(exc.key, **exc.params), reply_markup=markup)


VIEW = DialogueView(inspect.DIALOGUE, _show, unexpected="inspect.unexpected", cancelled="inspect.cancelled",
                    nothing_to_cancel="inspect.nothing_to_cancel", refuse=_refuse)


async def begin(update: Update, context: Context) -> object:
    """/inspect [part of a unit's name or code]"""
    return await VIEW.step(update, context, inspect.begin, " ".join(context.args) if context.args else None)


async def page(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, inspect.unit_page, int(button_data(update).rsplit(":", 1)[1]),
                           show=_show_page)


async def search(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, inspect.search_unit, message_text(update))


async def choose_unit(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, inspect.choose_unit, int(button_data(update).rsplit(":", 1)[1]))


async def choose_target(update: Update, context: Context) -> object:
    raw = button_data(update).rsplit(":", 1)[1]
    return await VIEW.step(update, context, inspect.choose_target, None if raw == "g" else int(raw))


async def location(update: Update, context: Context) -> object:
    """A location message: a fixed or live point; a forwarded one or a venue is refused."""
    message = update.effective_message
    assert message is not None
    point = message.location or (message.venue.location if message.venue else None)
    assert point is not None
    return await VIEW.step(update, context, inspect.give_location, point.latitude, point.longitude,
                           point.horizontal_accuracy, forwarded=message.forward_origin is not None,
                           venue=message.venue is not None)


async def no_location(update: Update, context: Context) -> object:
    """Text where the location is expected: say how to share it."""
    _, tr = await who(update, context)
    await _refuse(update, tr, DomainError("inspect.location_missing"))
    return None


async def photo(update: Update, context: Context) -> object:
    """A photo (compressed: no EXIF) or an image sent as a file: fetched, analysed, stored, added."""
    d = deps(context)
    message = update.effective_message
    assert message is not None
    _, tr = await who(update, context)
    compressed = bool(message.photo)
    mime = "image/jpeg" if compressed else (message.document.mime_type or "") if message.document else ""
    if not mime.startswith("image/"):
        await reply(update, tr("inspect.not_a_photo"))
        return None
    if too_big(message):
        await reply(update, tr("inspect.file_too_big"))
        return None
    ok, state = await VIEW.precheck(update, context, inspect_photos.may_add_photo, size_of(message), limits(context))
    if not ok:
        return state
    data = await download(message)
    facts = await analyse(data, d.clock.tz)
    if not facts.is_image:
        await reply(update, tr("inspect.image_too_large" if facts.too_large else "inspect.not_an_image"))
        return None
    _, key = await asyncio.to_thread(d.storage.put, data)
    media = media_of(message)
    incoming = inspect_photos.IncomingPhoto(facts=facts, storage_key=key, mime_type=mime,
                                            telegram_file_id=media.file_id,
                                            telegram_file_unique_id=media.file_unique_id, compressed=compressed)
    return await VIEW.step(update, context, inspect_photos.add_photo, incoming, limits(context))


async def not_a_photo(update: Update, context: Context) -> object:
    """A video, sticker, animation or voice where site photos are expected."""
    _, tr = await who(update, context)
    await reply(update, tr("inspect.not_a_photo"))
    return None


async def done(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, inspect.photos_done)


async def findings(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, inspect.give_findings, message_text(update))


async def value(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, inspect.give_value, message_text(update))


async def skip(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, inspect.give_value, None)


async def rate(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, inspect.rate, button_data(update).rsplit(":", 1)[1])


async def confirm(update: Update, context: Context) -> object:
    """Confirm: the only step that writes an inspection. Also answers a second press after the end."""
    return await VIEW.confirm(update, context, inspect.confirm, int(button_data(update).rsplit(":", 1)[1]))


async def cancel(update: Update, context: Context) -> object:
    """/cancel or the Cancel button: drop the draft, write nothing, take the location keyboard away."""
    return await VIEW.cancel(update, context, reply_markup=ReplyKeyboardRemove())


async def stray(update: Update, context: Context) -> object:
    """Anything the current step does not take: say what is expected, stay at the step."""
    return await VIEW.stray(update, context)


async def ignore(update: Update, context: Context) -> None:
    """An edited message (a live location keeps editing its own): nothing to answer."""


async def visits(update: Update, context: Context) -> None:
    """/visits [unit code]: the latest inspections the person may read."""
    d = deps(context)
    _, tr = await who(update, context)
    user = update.effective_user
    assert user is not None
    code = context.args[0] if context.args else None
    try:
        items = await recent_visits(user.id, code, uow=d.db.uow(), clock=d.clock)
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    await reply(update, visits_text(items, code, tr))


def conversation() -> ConversationHandler:
    new = filters.UpdateType.MESSAGE  # not edits: a live location keeps editing its message
    text_only = new & filters.TEXT & ~filters.COMMAND
    not_photos = new & (filters.VIDEO | filters.Sticker.ALL | filters.ANIMATION | filters.VIDEO_NOTE | filters.VOICE)
    return ConversationHandler(
        entry_points=[CommandHandler("inspect", begin)],
        states={
            Step.CHOOSE_UNIT: [
                CallbackQueryHandler(choose_unit, pattern=r"^ins:u:\d{1,18}$"),
                CallbackQueryHandler(page, pattern=r"^ins:pg:\d{1,18}$"),
                MessageHandler(text_only, search),
            ],
            Step.CHOOSE_TARGET: [CallbackQueryHandler(choose_target, pattern=r"^ins:t:(\d{1,18}|g)$")],
            Step.AWAIT_LOCATION: [
                MessageHandler(new & (filters.LOCATION | filters.VENUE), location),
                MessageHandler(text_only, no_location),
            ],
            Step.AWAIT_PHOTOS: [
                MessageHandler(not_photos, not_a_photo),
                MessageHandler(new & (filters.PHOTO | filters.Document.ALL), photo),
                CommandHandler("done", done),
                CallbackQueryHandler(done, pattern=r"^ins:done$"),
            ],
            Step.AWAIT_FINDINGS: [MessageHandler(text_only, findings)],
            Step.AWAIT_VALUE: [
                MessageHandler(text_only, value),
                CommandHandler("skip", skip),
                CallbackQueryHandler(skip, pattern=r"^ins:skip$"),
            ],
            Step.AWAIT_RATING: [CallbackQueryHandler(rate, pattern=r"^ins:r:[a-z]+$")],
            Step.CONFIRM: [
                CallbackQueryHandler(confirm, pattern=r"^ins:ok:\d{1,18}$"),
                CallbackQueryHandler(cancel, pattern=r"^ins:cancel$"),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CommandHandler("inspect", begin),
            # An old summary's Confirm answers like the first press and keeps the dialogue where it is.
            CallbackQueryHandler(confirm, pattern=r"^ins:ok:\d{1,18}$"),
            # Other features' commands and buttons still work in the middle of a visit.
            MessageHandler(new & ~filters.COMMAND, stray),
            MessageHandler(filters.UpdateType.EDITED, ignore),  # e.g. a live location moving
            CallbackQueryHandler(stray, pattern=r"^ins:"),
        ],
        name=inspect.DIALOGUE.name,
        persistent=True,
        allow_reentry=True,
    )
