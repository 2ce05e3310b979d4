"""/portfolio: a leader's linked items (联系点) and group line with pace and alerts."""

from __future__ import annotations

from telegram import Update

from handlers.common import deps, reply, who
from handlers.context import Context
from services.core.errors import DomainError
from services.progress import portfolio as service


async def portfolio(update: Update, context: Context) -> None:
    d = deps(context)
    _, tr = await who(update, context)
    user = update.effective_user
    assert user is not None
    try:
        p = await service.portfolio(user.id, uow=d.db.read_uow(), clock=d.clock)
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    for part in service.render(p, tr):
        await reply(update, part)
