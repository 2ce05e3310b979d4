"""/mytargets: the targets of the cadre's unit(s), most urgent first, paged with buttons."""

from __future__ import annotations

from datetime import date

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode

from config.i18n import Translator
from handlers.common import deps, reply, who
from handlers.context import Context
from services.core.errors import DomainError
from services.plan.values import format_value
from services.progress.history import Mine, my_targets
from services.progress.notices import line
from services.progress.standings import Standing

PAGE = 6
ICON = {"overdue": "⛔", "red": "🔴", "yellow": "🟡", "on_track": "🟢", "done": "✅", "not_started": "⚪"}


def _item(s: Standing, tr: Translator, notice: str | None) -> str:
    effective = format_value(s.effective, s.measure, tr.lang) if s.effective is not None else tr("report.none_yet")
    if s.claimed is not None and s.effective is not None and s.claimed != s.effective:
        effective = tr("mytargets.claimed", effective=effective, claimed=format_value(s.claimed, s.measure, tr.lang))
    days = tr("mytargets.days_left", days=s.pace.days_left) if s.pace.days_left >= 0 else tr(
        "mytargets.days_over", days=-s.pace.days_left)
    return tr(
        "mytargets.item", icon=ICON.get(s.pace.status.value, "•"), title=s.title, code=s.target_code,
        unit=s.unit_name, planned=format_value(s.planned, s.measure, tr.lang), effective=effective,
        percent=f"{s.pace.percent_complete:.0f}", deadline=s.deadline.isoformat(), days=days,
        pace=tr(f"pace.{s.pace.status.value}"),
    ) + ("\n" + notice if notice else "")


def render(mine: Mine, page: int, tr: Translator, today: date) -> tuple[str, InlineKeyboardMarkup | None]:
    items = mine.standings
    pages = max(1, -(-len(items) // PAGE))
    page = min(max(page, 0), pages - 1)
    chunk = items[page * PAGE:(page + 1) * PAGE]
    text = tr("mytargets.title", count=len(items), page=page + 1, pages=pages) + "\n\n" + "\n\n".join(
        _item(s, tr, line(mine.notices[s.assignment_id], today, tr) if s.assignment_id in mine.notices else None)
        for s in chunk)
    buttons = []
    if page > 0:
        buttons.append(InlineKeyboardButton(tr("mytargets.prev"), callback_data=f"my:p:{page - 1}"))
    if page < pages - 1:
        buttons.append(InlineKeyboardButton(tr("mytargets.next"), callback_data=f"my:p:{page + 1}"))
    return text, InlineKeyboardMarkup([buttons]) if buttons else None


async def _load(update: Update, context: Context) -> tuple[Mine | None, Translator]:
    d = deps(context)
    _, tr = await who(update, context)
    user = update.effective_user
    assert user is not None
    try:
        return await my_targets(user.id, uow=d.db.read_uow(), clock=d.clock), tr
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return None, tr


async def mytargets(update: Update, context: Context) -> None:
    """The first page."""
    items, tr = await _load(update, context)
    if items is None:
        return
    if not items.standings:
        await reply(update, tr("report.nothing_to_report"))
        return
    text, markup = render(items, 0, tr, deps(context).clock.now().date())
    await reply(update, text, reply_markup=markup)


async def turn_page(update: Update, context: Context) -> None:
    """◀ / ▶: the same message shows another page (figures as of now)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    items, tr = await _load(update, context)
    await query.answer()
    if not items or not items.standings:
        return
    text, markup = render(items, int(query.data.rsplit(":", 1)[1]), tr, deps(context).clock.now().date())
    await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
