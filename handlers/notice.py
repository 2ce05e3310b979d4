"""Criticism notices (通报批评), for the office: ``/notice <period>`` drafts one from data, ``/notice`` lists
the drafts awaiting a decision; buttons Approve ``ntc:ok:<id>`` / Edit ``ntc:edit:<id>`` / Discard
``ntc:no:<id>``. Edit is a small dialogue (AWAIT_TEXT: the whole replacement text, as a message or a .txt
file; /cancel). Group chats: handlers/groups.py. Transport only: the rules are in
services/inspection/notice.py and services/inspection/notice_draft.py.
"""

from __future__ import annotations

import contextlib

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from config.i18n import Translator
from handlers import notice_text
from handlers.common import button_data, decide_by_button, deps, message_text, reply, who
from handlers.context import Context
from handlers.dialogue import END, DialogueView, alert, conv_ref, say
from handlers.files import download
from services.core.errors import DomainError, DuplicateUpdate
from services.inspection import notice as notices
from services.inspection.notice import EditStep, NoticeView

MAX_FILE = 256 * 1024


async def _show(update: Update, v: NoticeView, tr: Translator, lead: str = "") -> None:
    """The draft in as many messages as it takes; the buttons on the last."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    message = update.effective_message
    assert message is not None
    parts = notice_text.preview(v, tr, lead)
    for n, part in enumerate(parts, 1):
        markup = notice_text.buttons(v, tr) if n == len(parts) else None
        await message.reply_text(part, parse_mode=ParseMode.HTML, reply_markup=markup)


async def notice(update: Update, context: Context) -> None:
    """/notice <period>: draft from data and show it; /notice: the drafts awaiting a decision."""
    d = deps(context)
    _, tr = await who(update, context)
    user = update.effective_user
    assert user is not None
    args = context.args or []
    try:
        if args:
            v = await notices.create_draft(" ".join(args), user_id=user.id, update_id=update.update_id,
                                           uow=d.db.uow(), clock=d.clock)
            await _show(update, v, tr, tr("notice.existing", number=v.id) if v.existing else "")
            return
        drafts, total = await notices.pending(user_id=user.id, uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        return
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    if not drafts:
        await reply(update, tr("notice.none_pending"))
        return
    for v in drafts:
        await _show(update, v, tr)
    if total > len(drafts):
        await reply(update, tr("notice.more_pending", shown=len(drafts), total=total))


async def decide(update: Update, context: Context) -> None:
    """Approve or Discard: decide, then show the decision on the message that carried the buttons; under a
    notice just published, the office may open a supervision item (督办件) for the units it named."""
    _, action, number = button_data(update).split(":")
    decided: list[NoticeView] = []

    def shown(v: NoticeView, tr: Translator) -> str:
        decided.append(v)
        return notice_text.decision(v, tr)

    await decide_by_button(update, context, notices.decide, int(number), action == "ok", shown=shown,
                           toast=lambda v: "notice.already_decided" if v.already else
                           "notice.answer_published" if v.status == "published" else "notice.answer_discarded")
    published = decided and decided[0].status == "published" and not decided[0].already
    if published and decided[0].units and update.effective_message is not None:
        _, tr = await who(update, context)
        text, markup = notice_text.item_offer(decided[0], tr)
        await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def _edited(update: Update, context: Context, snap: notices.Edit, tr: Translator) -> None:
    """Edit pressed: ask for the whole text; the text applied: the draft as it now reads."""
    if snap.step == EditStep.AWAIT_TEXT:
        await reply(update, tr("notice.edit_prompt", number=snap.view.id, title=snap.view.title))
    else:
        await _show(update, snap.view, tr, tr("notice.edited", number=snap.view.id))


async def _refuse_edit(update: Update, tr: Translator, exc: DomainError) -> None:
    """A refused Edit press is an alert on the button; a refused text a reply."""
    await (alert if update.callback_query is not None else say)(update, tr, exc)


VIEW = DialogueView(notices.DIALOGUE, _edited, unexpected="notice.edit_unexpected",
                    cancelled="notice.edit_cancelled", nothing_to_cancel="notice.nothing_to_cancel",
                    refuse=_refuse_edit, reprompt=False)


async def edit_begin(update: Update, context: Context) -> object:
    """Edit pressed: ask for the whole replacement text."""
    return await VIEW.step(update, context, notices.begin_edit, int(button_data(update).rsplit(":", 1)[1]))


async def edit_text(update: Update, context: Context) -> object:
    """The replacement text, as a message."""
    return await VIEW.step(update, context, notices.apply_edit, message_text(update))


async def edit_file(update: Update, context: Context) -> object:
    """The replacement text as a .txt file (a notice longer than one message): UTF-8, else GB18030."""
    message = update.effective_message
    assert message is not None and message.document is not None
    _, tr = await who(update, context)
    if (message.document.file_size or 0) > MAX_FILE:
        await reply(update, tr("notice.file_too_big", limit=MAX_FILE // 1024))
        return None
    data = await download(message)
    for encoding in ("utf-8-sig", "gb18030"):
        with contextlib.suppress(UnicodeDecodeError):
            return await VIEW.step(update, context, notices.apply_edit, data.decode(encoding))
    await reply(update, tr("notice.file_not_text"))
    return None


async def cancel(update: Update, context: Context) -> object:
    """/cancel: drop the edit, change nothing."""
    return await VIEW.cancel(update, context)


async def restart(update: Update, context: Context) -> object:
    """/notice in the middle of an edit: the edit is dropped, then /notice does what it always does."""
    d = deps(context)
    await notices.cancel_edit(conv=conv_ref(update), update_id=None, uow=d.db.uow(), clock=d.clock)
    await notice(update, context)
    return END


async def stray(update: Update, context: Context) -> object:
    """Anything else during the edit: say what is expected, stay."""
    return await VIEW.stray(update, context)


def edit_conversation() -> ConversationHandler:
    private = filters.ChatType.PRIVATE
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(edit_begin, pattern=r"^ntc:edit:\d{1,18}$")],
        states={
            EditStep.AWAIT_TEXT: [
                MessageHandler(private & filters.TEXT & ~filters.COMMAND, edit_text),
                MessageHandler(private & filters.Document.ALL, edit_file),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CommandHandler("notice", restart),
            CallbackQueryHandler(edit_begin, pattern=r"^ntc:edit:\d{1,18}$"),
            # Only what is meant for this dialogue: other features' commands and buttons still work in it.
            MessageHandler(private & ~filters.COMMAND, stray),
        ],
        name=notices.DIALOGUE.name,
        persistent=True,
        allow_reentry=True,
    )
