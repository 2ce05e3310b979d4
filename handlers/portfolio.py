"""/portfolio: a leader's linked items (联系点) and group line with pace and alerts; for admins the county view
of the economic focus (totals per category and pillar industry, investment, key projects' stage)."""

from __future__ import annotations

from telegram import Update

from handlers.common import deps, reply, who
from handlers.context import Context
from services.core.errors import DomainError
from services.progress import economy
from services.progress import portfolio as service


async def portfolio(update: Update, context: Context) -> None:
    d = deps(context)
    _, tr = await who(update, context)
    user = update.effective_user
    assert user is not None
    try:
        own, county = await economy.views(user.id, uow=d.db.read_uow(), clock=d.clock)
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    parts = (economy.render(county, tr) if county is not None else []) + (
        service.render(own, tr) if own is not None else [])
    for part in parts:
        await reply(update, part)
