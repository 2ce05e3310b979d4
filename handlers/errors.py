"""The one error handler: log with the traceback, tell the user politely in their language."""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.error import BadRequest

from handlers.common import reply, who
from handlers.context import Context

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(context.error, BadRequest) and "not modified" in str(context.error).lower():
        # A message edited to what it already says (a button pressed twice): done already, not a failure.
        log.info("update %s: the message was already as asked", update_id)
        if isinstance(update, Update) and update.callback_query is not None:
            with contextlib.suppress(BadRequest):  # answered already
                await update.callback_query.answer()
        return
    log.error("update %s failed", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_message is None:
        return
    try:
        _, tr = await who(update, context)
        await reply(update, tr("error.internal"))
    except Exception:  # the database may be what failed; the log line above is what matters
        log.warning("could not tell the user about the failure of update %s", update_id, exc_info=True)
