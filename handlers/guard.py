"""Gates around every update: redelivered ids dropped first; in group chats only binding, the bot's own
membership and supergroup upgrades go further; in private chats strangers and deactivated people are
stopped (but for what is public); afterwards the id recorded and the delivery worker woken."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from handlers.common import deps, forget, reply, who
from handlers.context import Context
from models.enums import Role
from services.core import updates
from services.people import viewer as people
from services.people.menu import PUBLIC

log = logging.getLogger(__name__)


# What the bot acts on in a group chat: nothing but these (handlers/groups.py).
GROUP_COMMANDS = ("bindgroup", "unbindgroup")


def _for_groups(update: Update) -> bool:
    """An update of a group chat the bot acts on: binding, the bot's own membership, a supergroup upgrade."""
    message = update.message
    if update.my_chat_member is not None:
        return True
    if message is not None and (message.migrate_to_chat_id or message.migrate_from_chat_id):
        return True
    return update.callback_query is None and _command(update) in GROUP_COMMANDS


def _command(update: Update) -> str | None:
    message = update.effective_message
    text = message.text if message is not None and message.text else ""
    if not text.startswith("/"):
        return None
    return text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else None


async def before(update: Update, context: Context) -> None:
    """Group -1: ignore an update already handled; let only registered, active people further. One read
    answers both "handled already?" and "who is this?" (the viewer is kept for the update's handlers)."""
    d = deps(context)
    user = update.effective_user
    chat = update.effective_chat
    if user is None or user.is_bot:
        raise ApplicationHandlerStop
    handled, viewer = await people.at_gate(update.update_id, user.id, uow=d.db.hot_read_uow())
    if handled:
        log.info("update %s already handled; ignored", update.update_id)
        raise ApplicationHandlerStop
    d.viewers[update.update_id] = viewer
    _, tr = await who(update, context)
    if user.id in d.settings.admin_ids and (viewer is None or not viewer.holds(Role.ADMIN)):
        viewer = await people.ensure_admin(user.id, user.full_name, uow=d.db.uow(), clock=d.clock)
    d.viewers[update.update_id] = viewer
    if chat is not None and chat.type != "private":
        if _for_groups(update):
            return  # each of these checks its own rights (an active admin binds)
        forget(update, context)  # anything else in a group: nothing, not even a reply
        await updates.mark_handled(update.update_id, uow=d.db.hot_uow(), clock=d.clock)
        raise ApplicationHandlerStop
    if _command(update) in PUBLIC:
        return
    if viewer is None or not viewer.active:
        for public in d.public_updates:  # e.g. the public survey: anyone answers, registered or not
            if await public(update, context):
                return
    if viewer is None:
        if not d.strangers.due(user.id):  # answered a moment ago: nothing more, not even a database write
            if update.callback_query is not None:
                await update.callback_query.answer()
            forget(update, context)
            raise ApplicationHandlerStop
        await reply(update, tr("start.unregistered"))
    elif not viewer.active:
        await reply(update, tr("person.deactivated"))
    else:
        return
    forget(update, context)
    await updates.mark_handled(update.update_id, uow=d.db.hot_uow(), clock=d.clock)
    raise ApplicationHandlerStop


async def after(update: Update, context: Context) -> None:
    """Last group: record the id of an update that had no effect of its own; push what it queued. The
    update's marks (services/core/updates.py) say whether its own transaction recorded its id already
    and whether it queued anything: then nothing is read or written here."""
    d = deps(context)
    forget(update, context)
    marks = updates.current()  # None only outside the update processor: then nothing is known
    if marks is None or update.update_id not in marks.recorded:
        await updates.mark_handled(update.update_id, uow=d.db.hot_uow(), clock=d.clock)
    if marks is None or marks.queued:
        d.delivery.wake()


async def unknown(update: Update, context: Context) -> None:
    """A registered person's message no feature understood."""
    _, tr = await who(update, context)
    await reply(update, tr("error.unknown_command"))
