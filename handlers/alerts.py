"""Alert buttons (Acknowledge, Details, Ask for a report), /alerts and /mute."""

from __future__ import annotations

import html
import re

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode

from handlers.common import deps, reply, who
from handlers.context import Context
from services.alerts import actions
from services.alerts.text import ICON
from services.core.errors import DomainError, DuplicateUpdate
from services.plan.values import format_value


def _alert_id(update: Update) -> int:
    assert update.callback_query is not None and update.callback_query.data is not None
    return int(update.callback_query.data.rsplit(":", 1)[1])


async def acknowledge(update: Update, context: Context) -> None:
    """Stop the escalation; the message shows who acknowledged, that alert's buttons go."""
    d = deps(context)
    _, tr = await who(update, context)
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    alert_id = _alert_id(update)
    try:
        ack = await actions.acknowledge(alert_id, update.effective_user.id, update_id=update.update_id,
                                              uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        return
    except DomainError as exc:
        await query.answer(tr(exc.key, **exc.params), show_alert=True)
        return
    when = ack.at.astimezone(d.settings.tz).strftime("%Y-%m-%d %H:%M")
    await query.answer(tr("alert.already_acked", id=alert_id, name=ack.by, when=when) if ack.already else None)
    message = query.message
    if message is None or not getattr(message, "text", None):
        return
    keyboard = [row for row in (message.reply_markup.inline_keyboard if message.reply_markup else ())
                if not any(b.callback_data == f"al:ack:{alert_id}" for b in row)]
    line = tr("alert.acked_line", id=alert_id, name=ack.by, when=when)
    if line in message.text:
        return
    await query.edit_message_text(html.escape(message.text) + "\n\n" + line, parse_mode=ParseMode.HTML,
                                  reply_markup=InlineKeyboardMarkup(keyboard) if keyboard else None)


async def show_details(update: Update, context: Context) -> None:
    d = deps(context)
    _, tr = await who(update, context)
    assert update.effective_user is not None
    try:
        alert, s = await actions.details(_alert_id(update), update.effective_user.id, uow=d.db.read_uow(),
                                               clock=d.clock)
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return

    def v(x):  # type: ignore[no-untyped-def]
        return format_value(x, s.measure, tr.lang) if x is not None else "—"

    last = (s.last_report_at.astimezone(d.settings.tz).strftime("%Y-%m-%d %H:%M") + f" {s.last_reporter}"
            if s.last_report_at else "—")
    await reply(update, tr("alert.details", id=alert.id, kind=tr(f"alert.kind.{alert.kind}"), title=s.title,
                           code=s.target_code, unit=s.unit_name, planned=v(s.planned), expected=v(s.pace.expected),
                           effective=v(s.effective), percent=f"{s.pace.percent_complete:.0f}",
                           deadline=s.deadline.isoformat(), days=s.pace.days_left, last=last))


async def ask_report(update: Update, context: Context) -> None:
    d = deps(context)
    _, tr = await who(update, context)
    assert update.effective_user is not None
    try:
        n = await actions.ask_for_report(_alert_id(update), update.effective_user.id,
                                               update_id=update.update_id, uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        return
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    await reply(update, tr("alert.asked", count=n))


async def list_alerts(update: Update, context: Context) -> None:
    """/alerts: the last 30 days' alerts and their state."""
    d = deps(context)
    _, tr = await who(update, context)
    assert update.effective_user is not None
    try:
        rows = await actions.list_alerts(update.effective_user.id, uow=d.db.read_uow(), clock=d.clock)
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    if not rows:
        await reply(update, tr("alert.list_empty"))
        return
    lines = [tr("alert.list_title")] + [
        tr("alert.list_item", id=r.alert.id, icon=ICON.get(r.alert.level, "•"), title=r.title, unit=r.unit,
           kind=tr(f"alert.kind.{r.alert.kind}"), state=tr(f"alert.state.{r.alert.state}"))
        for r in rows
    ]
    await reply(update, "\n".join(lines))


async def mute(update: Update, context: Context) -> None:
    """/mute <target code> <days>"""
    d = deps(context)
    _, tr = await who(update, context)
    args = context.args or []
    if len(args) != 2 or not re.fullmatch(r"[0-9]{1,4}", args[1]):
        await reply(update, tr("mute.usage"))
        return
    assert update.effective_user is not None
    try:
        code, until = await actions.mute(args[0], int(args[1]), update.effective_user.id,
                                               update_id=update.update_id, uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        return
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    await reply(update, tr("mute.done", code=code, until=until))
