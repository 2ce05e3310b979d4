"""/history <target code> [unit code]: the confirmed reports of an assignment, corrections and adjustments, a
page at a time (◀ older, ▶ newer), like /mytargets."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from config.i18n import Translator
from handlers.common import deps, reply, who
from handlers.context import Context
from services.core.errors import DomainError
from services.plan.values import format_value
from services.progress.history import Entry, History, history

PAGE = 10  # entries a page
MAX_TEXT = 4000


def _adjusted(text: str | None, field: str | None, h: History, tr: Translator) -> str:
    if not text:
        return "—"
    return format_value(Decimal(text), h.measure, tr.lang) if field == "planned_value" else text


def _entry(e: Entry, h: History, tr: Translator, tz: ZoneInfo) -> str:
    when = e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if e.kind == "adjustment":
        return tr("history.adjustment", when=when, who=e.who, field=tr(f"history.field.{e.field}"),
                  old=_adjusted(e.old, e.field, h, tr), new=_adjusted(e.new, e.field, h, tr),
                  reason=_short(e.reason), status=tr(f"history.status.{e.status}"))
    assert e.value is not None
    line = tr("history.report", when=when, who=e.who, number=e.number, value=format_value(e.value, h.measure, tr.lang),
              files=e.files)
    if e.kind == "correction":
        line += "\n" + tr("history.correction", number=e.supersedes or "—", reason=_short(e.reason))
    if e.note:
        line += "\n" + tr("history.note", note=_short(e.note))
    return line


def _short(text: str | None, limit: int = 200) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render(h: History, page: int, tr: Translator, tz: ZoneInfo) -> tuple[str, InlineKeyboardMarkup | None]:
    """Page ``page`` of the history, counted from the newest (0: the latest ``PAGE`` entries), oldest first
    within the page; ◀ goes to older entries, ▶ back to newer ones."""
    pages = max(1, -(-len(h.entries) // PAGE))
    page = min(max(page, 0), pages - 1)
    end = len(h.entries) - page * PAGE
    entries = [_entry(e, h, tr, tz) for e in h.entries[max(0, end - PAGE):end]]
    head = tr("history.title", title=h.title, code=h.target_code, unit=h.unit_name)
    where = [tr("history.page", page=pages - page, pages=pages, total=len(h.entries))] if pages > 1 else []
    while True:  # what fits Telegram's 4,096 characters (a page of long notes loses its oldest entries)
        text = "\n\n".join([head, *where, *entries])
        if len(text) <= MAX_TEXT or len(entries) == 1:
            break
        entries = entries[1:]
    row = []
    if page < pages - 1:
        row.append(InlineKeyboardButton(tr("history.older"), callback_data=f"hi:{h.assignment_id}:{page + 1}"))
    if page > 0:
        row.append(InlineKeyboardButton(tr("history.newer"), callback_data=f"hi:{h.assignment_id}:{page - 1}"))
    return text, InlineKeyboardMarkup([row]) if row else None


async def show_history(update: Update, context: Context) -> None:
    """/history CODE [UNIT]: the latest page of the assignment's confirmed reports and adjustments."""
    d = deps(context)
    _, tr = await who(update, context)
    args = context.args or []
    if not args:
        await reply(update, tr("history.usage"))
        return
    user = update.effective_user
    assert user is not None
    try:
        h = await history(user.id, args[0], args[1] if len(args) > 1 else None, uow=d.db.read_uow())
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    if not h.entries:
        head = tr("history.title", title=h.title, code=h.target_code, unit=h.unit_name)
        await reply(update, head + "\n" + tr("history.empty"))
        return
    text, markup = render(h, 0, tr, d.settings.tz)
    await reply(update, text, reply_markup=markup)


async def turn_page(update: Update, context: Context) -> None:
    """``hi:<assignment>:<page>`` (◀ ▶): the same message shows another page, as the database has it now."""
    d, query, user = deps(context), update.callback_query, update.effective_user
    _, tr = await who(update, context)
    assert query is not None and query.data is not None and user is not None
    _, assignment, page = query.data.split(":")
    try:
        h = await history(user.id, None, None, uow=d.db.read_uow(), assignment_id=int(assignment))
    except DomainError as exc:
        await query.answer(Translator(tr.lang, html=False)(exc.key, **exc.params), show_alert=True)
        return
    text, markup = render(h, int(page), tr, d.settings.tz)
    await query.answer()
    with contextlib.suppress(BadRequest):  # the same page again
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
