"""/newitem: opening a supervision item (督办件) — transport only; the rules are in services/items/newitem.py.

One dialogue ``newitem`` (states are services.items.newitem.Step; see newitem.mmd), entered four ways:
/newitem (an admin or a leader); ``it:al:<alert>`` (the 督办 button on an alert); ``rect:new:<inspection>``,
``it:in:<inspection>`` or /rectify_new <inspection> (a rectification, 整改); ``it:nt:<notice>`` (a published
criticism notice). UNITS → DEADLINE → TASK → CONFIRM; Keep takes what the origin suggested; photos and
documents are taken at TASK (a caption is the task) and at CONFIRM. /cancel anywhere.
"""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from config.i18n import Translator
from handlers.common import button_data, deps, message_text, reply, who
from handlers.context import Context
from handlers.dialogue import DialogueView
from handlers.files import fetch, limits, size_of, too_big
from handlers.newitem_text import prompt
from services.items import newitem
from services.items.attach import accepted
from services.items.newitem import Snapshot, Step


def _number(update: Update) -> int:
    return int(button_data(update).rsplit(":", 1)[1])


async def _show(update: Update, context: Context, snap: Snapshot, tr: Translator) -> None:
    text, markup = prompt(snap, tr)
    await reply(update, text, reply_markup=markup)


VIEW = DialogueView(newitem.DIALOGUE, _show, unexpected="items.unexpected", cancelled="items.cancelled",
                    nothing_to_cancel="items.nothing_to_cancel")


async def begin(update: Update, context: Context) -> object:
    """/newitem: an item on a leader's instruction (领导批示) or the office's own."""
    return await VIEW.step(update, context, newitem.begin, "instruction")


async def from_alert(update: Update, context: Context) -> object:
    """``it:al:<alert>``: the 督办 button on an alert shown to leaders and admins."""
    return await VIEW.step(update, context, newitem.begin, "alert", _number(update))


async def from_inspection(update: Update, context: Context) -> object:
    """``rect:new:<inspection>`` / ``it:in:<inspection>`` on the inspector's confirmation of a visit."""
    return await VIEW.step(update, context, newitem.begin, "inspection", _number(update))


async def from_inspection_command(update: Update, context: Context) -> object:
    """/rectify_new <inspection number>"""
    args = context.args or []
    if len(args) != 1 or not re.fullmatch(r"#?[0-9]{1,18}", args[0]):
        _, tr = await who(update, context)
        await reply(update, tr("items.usage_rectify_new"))
        return None
    return await VIEW.step(update, context, newitem.begin, "inspection", int(args[0].lstrip("#")))


async def from_notice(update: Update, context: Context) -> object:
    """``it:nt:<notice>``: 督办 on a published criticism notice (the named units)."""
    return await VIEW.step(update, context, newitem.begin, "notice", _number(update))


def _text_at(step: Step):  # type: ignore[no-untyped-def]
    async def handle(update: Update, context: Context) -> object:
        return await VIEW.step(update, context, newitem.advance, step, message_text(update))
    return handle


async def keep(update: Update, context: Context) -> object:
    """Keep (``ni:keep:units`` / ``ni:keep:task``): what the origin suggested."""
    step = Step.UNITS if button_data(update).endswith("units") else Step.TASK
    return await VIEW.step(update, context, newitem.advance, step, None)


async def file(update: Update, context: Context) -> object:
    """A photo or document: at TASK its caption is the task; at CONFIRM one more attachment."""
    message = update.effective_message
    assert message is not None
    _, tr = await who(update, context)
    if message.document is not None and not accepted(message.document.mime_type):
        await reply(update, tr("items.file_kind"))
        return None
    if too_big(message):
        await reply(update, tr("items.file_too_big"))
        return None
    ok, state = await VIEW.precheck(update, context, newitem.may_add_file, size_of(message), limits(context))
    if not ok:
        return state
    return await VIEW.step(update, context, newitem.add_file, await fetch(message, context), message.caption,
                           limits(context))


async def flag(update: Update, context: Context) -> object:
    """挂牌督办 on or off (``ni:flag`` on the summary)."""
    return await VIEW.step(update, context, newitem.toggle_flag)


async def confirm(update: Update, context: Context) -> object:
    """Confirm: the only step that writes (交办). Also answers a second press after the end."""
    return await VIEW.confirm(update, context, newitem.confirm, _number(update),
                              deps(context).settings.item_sign_hours)


async def cancel(update: Update, context: Context) -> object:
    """/cancel or the Cancel button: drop the dialogue, write nothing."""
    return await VIEW.cancel(update, context)


async def stray(update: Update, context: Context) -> object:
    """Anything the current step does not take: say what is expected, stay at the step."""
    return await VIEW.stray(update, context)


def conversation() -> ConversationHandler:
    text_only = filters.TEXT & ~filters.COMMAND
    files = filters.PHOTO | filters.Document.ALL
    private = filters.ChatType.PRIVATE
    return ConversationHandler(
        entry_points=[
            CommandHandler("newitem", begin, private),
            CallbackQueryHandler(from_alert, pattern=r"^it:al:\d{1,18}$"),
            CallbackQueryHandler(from_inspection, pattern=r"^(rect:new|it:in):\d{1,18}$"),
            CommandHandler("rectify_new", from_inspection_command, private),
            CallbackQueryHandler(from_notice, pattern=r"^it:nt:\d{1,18}$"),
        ],
        states={
            Step.UNITS: [MessageHandler(text_only, _text_at(Step.UNITS)),
                         CallbackQueryHandler(keep, pattern=r"^ni:keep:units$")],
            Step.DEADLINE: [MessageHandler(text_only, _text_at(Step.DEADLINE))],
            Step.TASK: [MessageHandler(text_only, _text_at(Step.TASK)), MessageHandler(files, file),
                        CallbackQueryHandler(keep, pattern=r"^ni:keep:task$")],
            Step.CONFIRM: [CallbackQueryHandler(confirm, pattern=r"^(ni|rect):y:\d{1,18}$"),
                           CallbackQueryHandler(flag, pattern=r"^ni:flag$"), MessageHandler(files, file)],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CallbackQueryHandler(cancel, pattern=r"^(ni|rect):x$"),
            # Only what is meant for this dialogue: other features' commands and buttons still work in it.
            MessageHandler(~filters.COMMAND, stray),
            CallbackQueryHandler(stray, pattern=r"^ni:"),
        ],
        name=newitem.DIALOGUE.name,
        persistent=True,
        allow_reentry=True,
    )
