"""/accountability [year]: the year's accountability lines (说明, 述职, leadership review, records) for admins;
/outcome N scheduled|done [note]: what happened to line N. Transport only: the lines and the rules are in
services/assessment/accountability.py."""

from __future__ import annotations

from telegram import Update

from handlers.accountability_text import listing, recorded
from handlers.common import deps, reply, who
from handlers.context import Context
from services.assessment import accountability as acc
from services.core.errors import DomainError, DuplicateUpdate


async def accountability(update: Update, context: Context) -> None:
    """List the lines with what was recorded for each."""
    d = deps(context)
    _, tr = await who(update, context)
    assert update.effective_user is not None
    arg = (context.args or [""])[0]
    try:
        year = int(arg) if arg else None
        view = await acc.accountability(year, uow=d.db.read_uow(), clock=d.clock, user_id=update.effective_user.id)
    except ValueError:
        await reply(update, tr("acc.usage"))
        return
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    for part in listing(view, tr):
        await reply(update, part)


async def outcome(update: Update, context: Context) -> None:
    """``/outcome 3 已安排 3月常委会说明``: record the outcome of line 3."""
    d = deps(context)
    _, tr = await who(update, context)
    assert update.effective_user is not None
    args = context.args or []
    if len(args) < 2 or not args[0].lstrip("#").isdigit():
        await reply(update, tr("acc.outcome_usage"))
        return
    try:
        line = await acc.record_outcome(int(args[0].lstrip("#")), args[1], " ".join(args[2:]),
                                        user_id=update.effective_user.id, update_id=update.update_id,
                                        uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        return
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    await reply(update, recorded(line, tr))
