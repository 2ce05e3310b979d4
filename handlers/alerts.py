"""Alert buttons (a push's list and Acknowledge all; Acknowledge, Details, Ask for a report), /alerts, /mute."""

from __future__ import annotations

import contextlib
import html
import re

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from config.i18n import Translator
from handlers.common import deps, reply, who
from handlers.context import Context
from services.alerts import actions, inbox, push
from services.alerts.text import ICON
from services.core.errors import DomainError, DuplicateUpdate
from services.plan.values import format_value


def _alert_id(update: Update) -> int:
    assert update.callback_query is not None and update.callback_query.data is not None
    return int(update.callback_query.data.split(":")[2])


def _numbers(update: Update) -> list[int]:
    """The numbers of the pressed button's data (``al:ls:<push>:<page>`` -> [push, page])."""
    assert update.callback_query is not None and update.callback_query.data is not None
    return [int(x) for x in update.callback_query.data.split(":")[2:]]


async def _show_page(update: Update, context: Context, push_id: int, number: int, toast: str | None) -> None:
    """Put the push's list page, as the database has it now, in place of the message pressed."""
    d, query = deps(context), update.callback_query
    _, tr = await who(update, context)
    assert query is not None and update.effective_user is not None
    try:
        page = await inbox.page(push_id, number, user_id=update.effective_user.id, uow=d.db.read_uow(),
                                clock=d.clock)
    except DomainError as exc:
        await query.answer(_plain(tr, exc.key, **exc.params), show_alert=True)
        return
    text, markup = inbox.render(page, tr.lang, d.settings.tz)
    await query.answer(toast)
    with contextlib.suppress(BadRequest):  # the same page again: "message is not modified"
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=InlineKeyboardMarkup.de_json(
            markup, None))


def _plain(tr: Translator, key: str, **params: object) -> str:
    return Translator(tr.lang, html=False)(key, **params)


async def list_page(update: Update, context: Context) -> None:
    """``al:ls:<push>``: the push's alerts in a new message, a page at a time, with Acknowledge and Details for
    each; ``al:ls:<push>:<page>`` (◀ ▶) turns that message's page."""
    push_id, *number = _numbers(update)
    if number:
        await _show_page(update, context, push_id, number[0], None)
        return
    d = deps(context)
    _, tr = await who(update, context)
    assert update.effective_user is not None
    try:
        page = await inbox.page(push_id, 0, user_id=update.effective_user.id, uow=d.db.read_uow(), clock=d.clock)
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    text, markup = inbox.render(page, tr.lang, d.settings.tz)
    await reply(update, text, reply_markup=InlineKeyboardMarkup.de_json(markup, None))


async def acknowledge_all(update: Update, context: Context) -> None:
    """``al:aa:<push>[:<page>]``: acknowledge every open alert of the push; the push (or the list page) then
    shows who did and when, and the press is answered with how many."""
    d, query = deps(context), update.callback_query
    _, tr = await who(update, context)
    assert query is not None and update.effective_user is not None
    push_id, *on_page = _numbers(update)
    try:
        done = await inbox.acknowledge_all(push_id, user_id=update.effective_user.id, update_id=update.update_id,
                                           uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        await query.answer()
        return
    except DomainError as exc:
        await query.answer(_plain(tr, exc.key, **exc.params), show_alert=True)
        return
    toast = _plain(tr, "push.acked_all_toast", count=done.count) if done.count else _plain(tr, "push.nothing_to_ack")
    if on_page:
        await _show_page(update, context, push_id, on_page[0], toast)
        return
    await query.answer(toast)
    if not done.count:
        return
    when = done.at.astimezone(d.settings.tz).strftime("%Y-%m-%d %H:%M")
    line = tr("push.acked_all_line", name=done.by, when=when, count=done.count)
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(done.text + "\n\n" + line, parse_mode=ParseMode.HTML,
                                      reply_markup=InlineKeyboardMarkup.de_json(
                                          push.markup(push_id, done.total, tr.lang, acknowledged=True), None))


async def acknowledge(update: Update, context: Context) -> None:
    """Stop the escalation. From a push's list (``al:ack:<id>:<push>:<page>``) the page is shown again with who
    acknowledged; on an older message the line is added and that alert's buttons go. The press is answered."""
    d = deps(context)
    _, tr = await who(update, context)
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    alert_id, *on_page = _numbers(update)
    try:
        ack = await actions.acknowledge(alert_id, update.effective_user.id, update_id=update.update_id,
                                        uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        await query.answer()
        return
    except DomainError as exc:
        await query.answer(_plain(tr, exc.key, **exc.params), show_alert=True)
        return
    when = ack.at.astimezone(d.settings.tz).strftime("%Y-%m-%d %H:%M")
    toast = (_plain(tr, "alert.already_acked", id=alert_id, name=ack.by, when=when) if ack.already
             else _plain(tr, "alert.acked_toast", id=alert_id))
    if on_page:
        await _show_page(update, context, on_page[0], on_page[1], toast)
        return
    await query.answer(toast)
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
