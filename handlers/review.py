"""The office's verdicts on evidence (issue #15 §1), by buttons on the messages the outbox brought:
``rv:ok|no:<report>`` accept or reject a unit's new evidence for a report beyond a verified value,
``vh:ok|no:<visit>`` confirm or reject a finding whose evidence was flagged off site or re-used, and
``rv:files:<report>`` / ``vh:files:<visit>`` show the files. Transport only: the rules are in
services/progress/review.py and services/inspection/holds.py."""

from __future__ import annotations

from telegram import Update

from config.i18n import Translator
from handlers.common import button_data, decide_by_button, deps, reply, who
from handlers.context import Context
from handlers.files import send_stored
from handlers.review_text import hold_decided, review_decided
from services.core.errors import DomainError
from services.inspection import holds
from services.progress import review


async def decide_report(update: Update, context: Context) -> None:
    """Accept / Reject a unit's new evidence."""
    _, action, number = button_data(update).split(":")
    await decide_by_button(update, context, review.decide, int(number), action == "ok",
                           shown=lambda r, tr: review_decided(r, tr, deps(context).clock),
                           toast=lambda r: "review.answer_accepted" if r.status == "accepted"
                           else "review.answer_rejected")


async def decide_visit(update: Update, context: Context) -> None:
    """Confirm / Reject a flagged finding."""
    _, action, number = button_data(update).split(":")
    await decide_by_button(update, context, holds.decide, int(number), action == "ok", shown=hold_decided,
                           toast=lambda h: "hold.answer_confirmed" if h.status == "confirmed"
                           else "hold.answer_rejected")


async def _files(update: Update, context: Context, read, number: int) -> None:  # type: ignore[no-untyped-def]
    user = update.effective_user
    assert user is not None
    _, tr = await who(update, context)
    try:
        found = await read(number, user_id=user.id, uow=deps(context).db.read_uow())
    except DomainError as exc:
        await _refuse(update, tr, exc)
        return
    if not found:
        await reply(update, tr("review.no_files"))
        return
    await send_stored(update, context, found)


async def _refuse(update: Update, tr: Translator, exc: DomainError) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(Translator(tr.lang, html=False)(exc.key, **exc.params), show_alert=True)
    else:
        await reply(update, tr(exc.key, **exc.params))


async def report_files(update: Update, context: Context) -> None:
    """``rv:files:<report>``: the unit's files."""
    await _files(update, context, review.files, int(button_data(update).rsplit(":", 1)[1]))


async def visit_files(update: Update, context: Context) -> None:
    """``vh:files:<visit>``: the visit's photos."""
    await _files(update, context, holds.files, int(button_data(update).rsplit(":", 1)[1]))
