"""/ranking [class]: the ranking table and its bar chart, for admins and leaders. Without a class (and with
more than one) a menu of the classes, buttons ``rk:<n>`` (n: the class's place in name order; a class
name may be longer than callback data allows)."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from config.i18n import Translator
from handlers.common import deps, reply, who
from handlers.context import Context
from services.assessment import results
from services.assessment.results import RankingView
from services.core.errors import DomainError
from services.scoring import text
from services.scoring.results import UnitResult

if TYPE_CHECKING:
    from services.scoring.chart import Chart

log = logging.getLogger(__name__)
# matplotlib's rc_context changes process-wide settings for the time of a drawing: one at a time.
_drawing = threading.Lock()


def _render(year: int, unit_class: str, units: list[UnitResult], lang: str) -> Chart:
    # matplotlib (about 30 MB of the bot's memory, a second to import) only once someone asks for a chart: the
    # ranking is a year-end affair, and the bot runs all year.
    from services.scoring import chart as ranking_chart

    with _drawing:
        return ranking_chart.render(year, unit_class, units, lang)


async def _send_class(update: Update, view: RankingView, unit_class: str, tr: Translator) -> None:
    units = view.classes[unit_class]
    for part in text.table(view.year, unit_class, units, tr, status=view.status, live=view.live):
        await reply(update, part)
    chart = await asyncio.to_thread(_render, view.year, unit_class, units, tr.lang)
    message = update.effective_message
    assert message is not None
    caption = tr("ranking.caption", year=view.year, unit_class=unit_class, count=len(units))
    if chart.missing:
        caption += "\n" + tr("ranking.missing_glyphs", chars="".join(sorted(chart.missing)))
    await message.reply_photo(photo=chart.png, caption=caption, parse_mode="HTML")


async def ranking(update: Update, context: Context) -> None:
    d = deps(context)
    _, tr = await who(update, context)
    user = update.effective_user
    assert user is not None
    wanted = " ".join(context.args or []).strip() or None
    try:
        view = await results.ranking(user.id, wanted, uow=d.db.read_uow(), clock=d.clock)
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    if view.chosen is not None:
        await _send_class(update, view, view.chosen, tr)
        return
    if not view.classes:
        await reply(update, tr("ranking.empty", year=view.year))
        return
    names = sorted(view.classes)
    keyboard = [[InlineKeyboardButton(tr("ranking.class_button", unit_class=name, count=len(view.classes[name])),
                                      callback_data=f"rk:{n}")] for n, name in enumerate(names)]
    await reply(update, tr("ranking.choose", year=view.year), reply_markup=InlineKeyboardMarkup(keyboard))


async def pressed(update: Update, context: Context) -> None:
    d = deps(context)
    _, tr = await who(update, context)
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    try:
        view = await results.ranking(user.id, None, uow=d.db.read_uow(), clock=d.clock)
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    names = sorted(view.classes)
    n = int(query.data.split(":")[1])
    if n >= len(names):
        await reply(update, tr("ranking.stale_menu"))
        return
    await reply(update, tr("ranking.showing", unit_class=names[n]))
    await _send_class(update, view, names[n], tr)
