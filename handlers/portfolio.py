"""/portfolio: a leader's linked items (联系点) and group line with pace, alerts and warning notices, a page at a time;
for admins the county view of the economic focus first (totals per category and pillar industry, investment, key
projects' stage: services/progress/economy.py); the weekly digest's buttons: the whole portfolio (``pf:pg``) and
acknowledge all (``pf:ack:<digest>``)."""

from __future__ import annotations

import contextlib

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from config.i18n import Translator
from handlers.common import deps, reply, who
from handlers.context import Context
from services.alerts import inbox
from services.core.errors import DomainError, DuplicateUpdate
from services.progress import economy
from services.progress import portfolio as service


def _page(parts: list[str], page: int, tr: Translator) -> tuple[str, InlineKeyboardMarkup | None]:
    page = min(max(page, 0), len(parts) - 1)
    if len(parts) == 1:
        return parts[0], None
    row = []
    if page > 0:
        row.append(InlineKeyboardButton(tr("pf.prev"), callback_data=f"pf:pg:{page - 1}"))
    if page < len(parts) - 1:
        row.append(InlineKeyboardButton(tr("pf.next"), callback_data=f"pf:pg:{page + 1}"))
    return parts[page] + "\n" + tr("pf.page", page=page + 1, pages=len(parts)), InlineKeyboardMarkup([row])


async def _parts(update: Update, context: Context) -> tuple[list[str] | None, Translator]:
    d = deps(context)
    _, tr = await who(update, context)
    user = update.effective_user
    assert user is not None
    try:
        own, county = await economy.views(user.id, uow=d.db.read_uow(), clock=d.clock)
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return None, tr
    return (economy.render(county, tr) if county is not None else []) + (
        service.render(own, tr) if own is not None else []), tr


async def portfolio(update: Update, context: Context) -> None:
    """/portfolio (or the digest's "see all"): the first page, in a new message."""
    parts, tr = await _parts(update, context)
    if parts:
        text, markup = _page(parts, 0, tr)
        await reply(update, text, reply_markup=markup)


async def turn_page(update: Update, context: Context) -> None:
    """``pf:pg:<page>``: the same message shows another page, as the database has it now."""
    query = update.callback_query
    assert query is not None and query.data is not None
    parts, tr = await _parts(update, context)
    await query.answer()
    if parts:
        text, markup = _page(parts, int(query.data.rsplit(":", 1)[1]), tr)
        with contextlib.suppress(BadRequest):
            await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def acknowledge_all(update: Update, context: Context) -> None:
    """``pf:ack:<digest>``: acknowledge every open alert the leader was told of; the digest says who and when."""
    d, query, user = deps(context), update.callback_query, update.effective_user
    _, tr = await who(update, context)
    assert query is not None and query.data is not None and user is not None
    plain = Translator(tr.lang, html=False)
    try:
        done = await inbox.acknowledge_all(int(query.data.rsplit(":", 1)[1]), user_id=user.id, every=True,
                                           update_id=update.update_id, uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        await query.answer()
        return
    except DomainError as exc:
        await query.answer(plain(exc.key, **exc.params), show_alert=True)
        return
    await query.answer(plain("push.acked_all_toast", count=done.count) if done.count else plain("push.nothing_to_ack"))
    if done.count:
        when = done.at.astimezone(d.settings.tz).strftime("%Y-%m-%d %H:%M")
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(tr("pf.btn_all"), callback_data="pf:pg")]])
        with contextlib.suppress(BadRequest):
            await query.edit_message_text(done.text + "\n\n" + tr("push.acked_all_line", name=done.by, when=when,
                                                                    count=done.count),
                                          parse_mode=ParseMode.HTML, reply_markup=markup)
