"""/score [unit]: a unit's whole breakdown (assignments, components, items, survey, grade, rank).
Cadres: their unit; leaders: the units of their linked items and group; admins: any unit."""

from __future__ import annotations

from telegram import Update

from handlers.common import deps, reply, who
from handlers.context import Context
from services.assessment import results
from services.core.errors import DomainError
from services.core.text import chunks
from services.scoring import text


async def score(update: Update, context: Context) -> None:
    d = deps(context)
    _, tr = await who(update, context)
    user = update.effective_user
    assert user is not None
    code = (context.args or [None])[0]
    try:
        view = await results.score(user.id, code, uow=d.db.read_uow(), clock=d.clock)
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    if view.unit is not None:
        for part in text.detail(view.unit, tr, status=view.status, live=view.live):
            await reply(update, part)
        return
    if not view.choices:
        await reply(update, tr("score_view.none_visible", year=view.year))
        return
    lines = [tr("score_view.choose", year=view.year)] + [
        tr("score_view.choice", code=u.unit_code, name=u.unit_name, total=text.display(u.total), rank=u.rank,
           size=u.class_size) for u in sorted(view.choices, key=lambda u: u.unit_code)]
    for part in chunks(lines):
        await reply(update, part)
