"""The one error handler: log with the traceback, tell the user politely in their language."""

from __future__ import annotations

import logging

from telegram import Update

from handlers.common import reply, who
from handlers.context import Context

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s failed", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_message is None:
        return
    try:
        _, tr = await who(update, context)
        await reply(update, tr("error.internal"))
    except Exception:  # the database may be what failed; the log line above is what matters
        log.warning("could not tell the user about the failure of update %s", update_id, exc_info=True)
