"""What the /newitem dialogue shows: each step's question and buttons, the summary, how it ended (items.*)."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup

from config.i18n import Translator
from handlers.common import buttons
from services.items.newitem import Snapshot, Step

SHOWN_UNITS = 15


def unit_names(units: list[list[Any]], tr: Translator) -> str:
    """The chosen units' names, the first few of a long list and how many more."""
    names = "、".join(str(u[2]) for u in units[:SHOWN_UNITS])
    return names if len(units) <= SHOWN_UNITS else tr("items.more_units", names=names, count=len(units))


def origin(d: dict[str, Any], tr: Translator) -> str:
    """Where the item comes from (a line above the questions), or nothing for /newitem."""
    o = d.get("origin") or {}
    if o.get("kind") == "inspection":
        text = tr("items.origin_inspection", number=o["number"], unit=o.get("unit", ""))
        return text + ("\n" + tr("items.findings", findings=o["findings"]) if o.get("findings") else "")
    if o.get("kind") == "alert":
        return tr("items.origin_alert", number=o["number"], title=o.get("title", ""), unit=o.get("unit", ""))
    if o.get("kind") == "notice":
        return tr("items.origin_notice", number=o["number"], title=o.get("title", ""))
    return ""


def summary(s: Snapshot, tr: Translator) -> str:
    d = s.draft
    text = tr("items.summary", units=unit_names(d["units"], tr), count=len(d["units"]), deadline=d.get("deadline", ""),
              task=d.get("task", ""), files=len(d.get("photos") or []))
    return text + "\n" + tr("items.summary_flagged" if d.get("flagged") else "items.summary_not_flagged")


def prompt(s: Snapshot, tr: Translator) -> tuple[str, InlineKeyboardMarkup | None]:
    """The message that asks for the input of the dialogue's current step (or tells how it ended)."""
    d, cancel = s.draft, (tr("items.btn_cancel"), "ni:x")
    head = origin(d, tr)
    head = head + "\n\n" if head else tr("items.new_title") + "\n"
    lead = tr(s.notice, count=len(d.get("photos") or [])) + "\n" if s.notice else ""
    if s.step == Step.UNITS:
        if d.get("units"):
            return (head + tr("items.ask_units_keep", units=unit_names(d["units"], tr), count=len(d["units"])),
                    buttons([(tr("items.btn_keep_units"), "ni:keep:units"), cancel]))
        return head + tr("items.ask_units"), buttons([cancel])
    if s.step == Step.DEADLINE:
        return (head + tr("items.ask_deadline", units=unit_names(d["units"], tr), count=len(d["units"]),
                          today=s.today.isoformat()), buttons([cancel]))
    if s.step == Step.TASK:
        text = lead + tr("items.ask_task", deadline=d.get("deadline", ""))
        if d.get("suggested"):
            text += "\n\n" + tr("items.suggested", task=d["suggested"])
            return text, buttons([(tr("items.btn_keep_task"), "ni:keep:task"), cancel])
        return text, buttons([cancel])
    if s.step == Step.CONFIRM:
        flag = tr("items.btn_unflag") if d.get("flagged") else tr("items.btn_flag")
        return (lead + summary(s, tr) + "\n" + tr("items.summary_hint"),
                buttons([(tr("items.btn_confirm"), f"ni:y:{s.serial}"), (flag, "ni:flag")], [cancel]))
    return ended(s, tr), buttons([(tr("items.btn_view"), f"it:view:{d['item_id']}")]) if d.get("item_id") else None


def ended(s: Snapshot, tr: Translator) -> str:
    """How a finished dialogue ended (also the answer to a second Confirm)."""
    d = s.draft
    return tr("items.opened_done", number=d.get("item_id", "?"), count=len(d.get("units") or []),
              told=d.get("told", 0), deadline=d.get("deadline", ""))
