"""How the office sees a notice in chat: the draft (in as many messages as it takes, buttons on the last)
and the decision. The notice itself is Chinese whatever the reader's language; the frame around it is not."""

from __future__ import annotations

import html
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from config.i18n import Translator
from services.core.text import TELEGRAM_LIMIT, split_text, utf16_len
from services.inspection.notice import NoticeView

SHOWN_UNITS = 30
_TAG = re.compile(r"<[^>]+>")


def visible_len(markup: str) -> int:
    """Length of HTML as Telegram shows it (our own catalogue markup: tags and entities only)."""
    return utf16_len(html.unescape(_TAG.sub("", markup)))


def _names(v: NoticeView, tr: Translator) -> str:
    if not v.units:
        return tr("notice.no_units")
    shown = "、".join(v.units[:SHOWN_UNITS])
    return shown if len(v.units) <= SHOWN_UNITS else tr("notice.more_units", units=shown, count=len(v.units))


def buttons(v: NoticeView, tr: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(tr("notice.btn_approve"), callback_data=f"ntc:ok:{v.id}"),
        InlineKeyboardButton(tr("notice.btn_edit"), callback_data=f"ntc:edit:{v.id}"),
        InlineKeyboardButton(tr("notice.btn_discard"), callback_data=f"ntc:no:{v.id}"),
    ]])


def preview(v: NoticeView, tr: Translator, lead: str = "") -> list[str]:
    """The draft for the office (HTML): a head (number, period, who is named, where it would go), then
    the text, split under Telegram's limit."""
    by = tr("notice.by_cli") if v.drafted_by == "cli" else v.drafted_by
    head = tr("notice.preview_head", number=v.id, period=v.period, label=v.period_label, units=_names(v, tr),
              groups=v.groups, cadres=v.cadres, by=by, when=v.created_at.strftime("%Y-%m-%d %H:%M"))
    head = f"{lead}\n{head}" if lead else head
    pieces = [html.escape(p, quote=False) for p in split_text(v.body, TELEGRAM_LIMIT - visible_len(head) - 2)]
    return [f"{head}\n\n{pieces[0]}", *pieces[1:]]


def decision(v: NoticeView, tr: Translator) -> str:
    """Who decided, when, and (published) to how many chats it went."""
    when = v.decided_at.strftime("%Y-%m-%d %H:%M") if v.decided_at else ""
    name = v.decided_by or "?"
    if v.status == "published":
        text = tr("notice.published", number=v.id, title=v.title, name=name, when=when, groups=v.sent_groups,
                  people=v.sent_people, total=v.sent_groups + v.sent_people)
    else:
        text = tr("notice.discarded", number=v.id, title=v.title, name=name, when=when)
    return text + ("\n" + tr("notice.already_decided") if v.already else "")


def item_offer(v: NoticeView, tr: Translator) -> tuple[str, InlineKeyboardMarkup]:
    """Under a notice just published: open a supervision item (督办件) for the units it named."""
    label = Translator(tr.lang, html=False)("items.btn_from_notice")
    return (tr("items.offer_notice", number=v.id, count=len(v.units)),
            InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=f"it:nt:{v.id}")]]))
