"""整改 (rectification items): transport only; the rules are in services/inspection/rectify.py.

One dialogue ``rect`` (states are services.inspection.rectify.Step), entered three ways:
``rect:new:<inspection>`` or /rectify_new <inspection> → OPEN_DESCRIPTION → OPEN_OWNER → OPEN_DEADLINE →
OPEN_CONFIRM; ``rect:close:<item>`` → CLOSE_NOTE → CLOSE_PHOTOS → CLOSE_CONFIRM; ``rect:no:<item>`` →
REJECT_REASON. /cancel anywhere. Outside it: /rectify (the person's items), ``rect:review:<item>`` (an item
with its photos), ``rect:ok:<item>`` (the opener accepts).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from config.i18n import Translator
from handlers.common import button_data, buttons, deps, drop_buttons, message_text, reply, who
from handlers.context import Context
from handlers.dialogue import DialogueView
from handlers.files import fetch, limits, size_of, too_big
from handlers.rectify_text import item_line, listing, prompt
from services.core.errors import DomainError, DuplicateUpdate
from services.inspection import rectify
from services.inspection.rectify import Snapshot, Step

MAX_PHOTO_BYTES = 10 * 1024 * 1024  # sendPhoto takes up to 10 MB; larger images go as documents


def _numbers(update: Update) -> tuple[int, int | None]:
    """The numbers in a button's data ``rect:<verb>:<number>[:<submission>]``."""
    parts = button_data(update).split(":")
    return int(parts[2]), int(parts[3]) if len(parts) > 3 else None


def _number(update: Update) -> int:
    return _numbers(update)[0]


async def _show(update: Update, context: Context, snap: Snapshot, tr: Translator) -> None:
    text, markup = prompt(snap, tr, deps(context).clock.now().date())
    await reply(update, text, reply_markup=markup)


VIEW = DialogueView(rectify.DIALOGUE, _show, unexpected="rect.unexpected", cancelled="rect.cancelled",
                    nothing_to_cancel="rect.nothing_to_cancel")


async def open_button(update: Update, context: Context) -> object:
    """``rect:new:<inspection>`` on the inspector's confirmation of a visit."""
    return await VIEW.step(update, context, rectify.begin, "open", _number(update))


async def open_command(update: Update, context: Context) -> object:
    """/rectify_new <inspection number>"""
    args = context.args or []
    if len(args) != 1 or not re.fullmatch(r"#?[0-9]{1,18}", args[0]):
        _, tr = await who(update, context)
        await reply(update, tr("rect.usage_new"))
        return None
    return await VIEW.step(update, context, rectify.begin, "open", int(args[0].lstrip("#")))


async def close_button(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, rectify.begin, "close", _number(update))


async def reject_button(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, rectify.begin, "reject", *_numbers(update))


def _text_at(step: Step) -> Callable[[Update, Context], Awaitable[object]]:
    async def handle(update: Update, context: Context) -> object:
        return await VIEW.step(update, context, rectify.advance, step, message_text(update))
    return handle


async def owner_button(update: Update, context: Context) -> object:
    return await VIEW.step(update, context, rectify.advance, Step.OPEN_OWNER, str(_number(update)))


async def photo(update: Update, context: Context) -> object:
    """A compressed photo or an image sent as a file: fetched, stored by content, added to the closing."""
    message = update.effective_message
    assert message is not None
    document = message.document
    if document is not None and not (document.mime_type or "").startswith("image/"):
        _, tr = await who(update, context)
        await reply(update, tr("rect.not_image"))
        return None
    if too_big(message):
        _, tr = await who(update, context)
        await reply(update, tr("rect.file_too_big"))
        return None
    ok, state = await VIEW.precheck(update, context, rectify.may_add_photo, size_of(message), limits(context))
    if not ok:
        return state
    return await VIEW.step(update, context, rectify.advance, Step.CLOSE_PHOTOS, await fetch(message, context),
                           limits=limits(context))


async def done(update: Update, context: Context) -> object:
    """/done or the Done button: to the summary, once a photo arrived."""
    return await VIEW.step(update, context, rectify.advance, Step.CLOSE_PHOTOS, None)


async def confirm(update: Update, context: Context) -> object:
    """Confirm: the only step that writes. Also answers a second press after the end."""
    return await VIEW.confirm(update, context, rectify.confirm, _number(update))


async def cancel(update: Update, context: Context) -> object:
    """/cancel or the Cancel button: drop the dialogue, write nothing."""
    return await VIEW.cancel(update, context)


async def stray(update: Update, context: Context) -> object:
    """Anything the current step does not take: say what is expected, stay at the step."""
    return await VIEW.stray(update, context)


# ---------------------------------------------------------------------------------- outside the dialogue
async def list_items(update: Update, context: Context) -> None:
    """/rectify: the person's items as owner, and the closings waiting for their decision."""
    d = deps(context)
    _, tr = await who(update, context)
    assert update.effective_user is not None
    try:
        owned, to_review = await rectify.my_items(user_id=update.effective_user.id, uow=d.db.uow())
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    text, markup = listing(owned, to_review, d.clock.now().date(), tr)
    await reply(update, text, reply_markup=markup)


async def review(update: Update, context: Context) -> None:
    """``rect:review:<item>``: the latest closing's photos, then the item (with Accept / Reject for its opener)."""
    d, message = deps(context), update.effective_message
    _, tr = await who(update, context)
    assert update.effective_user is not None and message is not None and update.callback_query is not None
    try:
        item, photos, can_decide = await rectify.review(_number(update), user_id=update.effective_user.id,
                                                               uow=d.db.uow())
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    await update.callback_query.answer()  # the photos take a moment
    for key, mime in photos:
        data = await asyncio.to_thread(d.storage.get, key)
        if mime.startswith("image/") and len(data) <= MAX_PHOTO_BYTES:
            await message.reply_photo(data)
        else:
            await message.reply_document(data, filename=f"{key.rsplit('/', 1)[-1][:12]}.{mime.rsplit('/', 1)[-1]}")
    if can_decide:
        text, keyboard = rectify.submitted_message(item, len(photos), tr.lang)
        rows = [[(b["text"], b["callback_data"]) for b in row] for row in keyboard["inline_keyboard"][:1]]
        await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=buttons(*rows))
    else:
        text = item_line(item, d.clock.now().date(), tr) + "\n" + tr("rect.photos_count", count=len(photos))
        await message.reply_text(text, parse_mode=ParseMode.HTML)


async def accept(update: Update, context: Context) -> None:
    """``rect:ok:<item>``: the opener accepts the closing; the owner is told through the outbox."""
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    d = deps(context)
    _, tr = await who(update, context)
    plain = Translator(tr.lang, html=False)
    try:
        item, already = await rectify.accept(*_numbers(update), user_id=update.effective_user.id,
                                                   update_id=update.update_id, uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        await query.answer()
        return
    except DomainError as exc:  # not the opener, or no such item: nothing changes
        await query.answer(plain(exc.key, **exc.params), show_alert=True)
        return
    await drop_buttons(update)
    if already:
        await query.answer(plain("rect.already_decided", number=item.row.id), show_alert=True)
        return
    await reply(update, tr("rect.accepted_done", number=item.row.id, name=item.owner_name))


def conversation() -> ConversationHandler:
    text_only = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[
            CallbackQueryHandler(open_button, pattern=r"^rect:new:\d{1,18}$"),
            CommandHandler("rectify_new", open_command, filters.ChatType.PRIVATE),
            CallbackQueryHandler(close_button, pattern=r"^rect:close:\d{1,18}$"),
            CallbackQueryHandler(reject_button, pattern=r"^rect:no:\d{1,18}(:\d{1,18})?$"),
        ],
        states={
            Step.OPEN_DESCRIPTION: [MessageHandler(text_only, _text_at(Step.OPEN_DESCRIPTION))],
            Step.OPEN_OWNER: [CallbackQueryHandler(owner_button, pattern=r"^rect:o:\d{1,18}$")],
            Step.OPEN_DEADLINE: [MessageHandler(text_only, _text_at(Step.OPEN_DEADLINE))],
            Step.OPEN_CONFIRM: [CallbackQueryHandler(confirm, pattern=r"^rect:y:\d{1,18}$")],
            Step.CLOSE_NOTE: [MessageHandler(text_only, _text_at(Step.CLOSE_NOTE))],
            Step.CLOSE_PHOTOS: [
                MessageHandler(filters.PHOTO | filters.Document.ALL, photo),
                CommandHandler("done", done),
                CallbackQueryHandler(done, pattern=r"^rect:done$"),
            ],
            Step.CLOSE_CONFIRM: [CallbackQueryHandler(confirm, pattern=r"^rect:y:\d{1,18}$")],
            Step.REJECT_REASON: [MessageHandler(text_only, _text_at(Step.REJECT_REASON))],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CallbackQueryHandler(cancel, pattern=r"^rect:x$"),
            # Only what is meant for this dialogue: other features' commands and buttons still work in it.
            MessageHandler(~filters.COMMAND, stray),
            CallbackQueryHandler(stray, pattern=r"^rect:"),
        ],
        name=rectify.DIALOGUE.name,
        persistent=True,
        allow_reentry=True,
    )
