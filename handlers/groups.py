"""Group chats, the only things the bot acts on there: ``/bindgroup`` and ``/unbindgroup`` by an active admin,
a group becoming a supergroup, and the bot being added to or removed from a group (it leaves a group no
active admin added it to). Transport only: the rules are in services/inspection/groups.py; the gate
(handlers/guard.py) stops everything else that comes from a group."""

from __future__ import annotations

import contextlib

from telegram import ChatMember, Update
from telegram.error import TelegramError

from handlers.common import deps, display_name, reply, who
from handlers.context import Context
from services.core.errors import DomainError, DuplicateUpdate
from services.inspection import groups

IN = (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.RESTRICTED)


async def bind(update: Update, context: Context) -> None:
    """/bindgroup in a group, by an active admin: published notices go to this group."""
    await _bind(update, context, bind=True)


async def unbind(update: Update, context: Context) -> None:
    """/unbindgroup in a group, by an active admin: no more notices here."""
    await _bind(update, context, bind=False)


async def _bind(update: Update, context: Context, *, bind: bool) -> None:
    d = deps(context)
    _, tr = await who(update, context)
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    if chat.type == "private":
        await reply(update, tr("notice.group_only"))
        return
    try:
        if bind:
            changed = await groups.bind_group(chat.id, chat.title or "", user_id=user.id, update_id=update.update_id,
                                              uow=d.db.uow(), clock=d.clock)
        else:
            changed = await groups.unbind_group(chat.id, user_id=user.id, update_id=update.update_id,
                                                uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        return
    except DomainError:
        await reply(update, tr("notice.group_refused"))
        return
    key = ("notice.group_bound" if changed else "notice.group_already_bound") if bind else (
        "notice.group_unbound" if changed else "notice.group_not_bound")
    await reply(update, tr(key, title=chat.title or ""))


async def migrated(update: Update, context: Context) -> None:
    """A group became a supergroup (new chat id): its binding and waiting notices follow it."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id:
        old, new = message.chat_id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, message.chat_id
    else:
        return
    d = deps(context)
    await groups.follow(old, new, uow=d.db.uow(), clock=d.clock)


async def membership(update: Update, context: Context) -> None:
    """The bot's own membership of a group changed: added by someone who is not an active admin, it leaves
    (the admins are told); removed, the group's binding ends."""
    change = update.my_chat_member
    if change is None or change.chat.type == "private":
        return
    d = deps(context)
    chat, by = change.chat, change.from_user
    joined = change.new_chat_member.status in IN and change.old_chat_member.status not in IN
    left = change.new_chat_member.status not in IN and change.old_chat_member.status in IN
    try:
        if joined:
            result = await groups.bot_added(chat.id, chat.title or "", by_user_id=by.id, by_name=display_name(update),
                                            update_id=update.update_id, uow=d.db.uow(), clock=d.clock)
            if not result.stay:
                with contextlib.suppress(TelegramError):  # already out, or the group is gone: nothing to do
                    await context.bot.leave_chat(chat.id)
        elif left:
            await groups.bot_removed(chat.id, by_user_id=by.id, update_id=update.update_id, uow=d.db.uow(),
                                     clock=d.clock)
    except DuplicateUpdate:
        return
