"""What the ``itemwork`` dialogue shows: the part worked on, each step's question and buttons, how it ended."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from config.i18n import Translator
from handlers.common import buttons
from services.items.itemwork import Snapshot, Step

TASK_SHOWN = 200


def _short(text: str, width: int = TASK_SHOWN) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def head(s: Snapshot, tr: Translator) -> str:
    """Which item and unit the dialogue is about."""
    if s.item is None:
        return ""
    unit = s.item.parts[0].unit_name if s.item.parts else ""
    return tr("items.work_head", number=s.item.id, task=_short(s.item.task), unit=unit,
              deadline=s.item.deadline.isoformat()) + "\n\n"


def prompt(s: Snapshot, tr: Translator) -> tuple[str, InlineKeyboardMarkup | None]:
    """The message that asks for the input of the dialogue's current step (or tells how it ended)."""
    d, cancel = s.draft, (tr("items.btn_cancel"), "iw:x")
    count = len(d.get("photos") or [])
    lead = tr(s.notice, count=count) + "\n" if s.notice else ""
    if s.step == Step.NOTE:
        return lead + head(s, tr) + tr(f"items.ask_{s.kind}"), buttons([cancel])
    if s.step == Step.FILES:
        return (lead + tr(f"items.ask_files_{s.kind}", count=count),
                buttons([(tr("items.btn_files_done"), "iw:next"), cancel]))
    if s.step == Step.CONFIRM:
        return (head(s, tr) + tr(f"items.summary_{s.kind}", note=d.get("note", ""), count=count),
                buttons([(tr("items.btn_submit"), f"iw:y:{s.serial}"), cancel]))
    if s.step == Step.COMMENT:
        unit = s.item.parts[0].unit_name if s.item is not None and s.item.parts else ""
        return head(s, tr) + tr(f"items.ask_{s.kind}", unit=unit), buttons([cancel])
    return ended(s, tr), buttons([(tr("items.btn_view"), f"it:view:{d['item_id']}")])


def ended(s: Snapshot, tr: Translator) -> str:
    """How a finished dialogue ended (also the answer to a second Confirm)."""
    if s.notice:
        return tr(s.notice, number=s.draft.get("item_id", "?"))
    unit = s.item.parts[0].unit_name if s.item is not None and s.item.parts else ""
    opener = s.item.opener if s.item is not None else ""
    closed = s.item is not None and s.item.state == "closed"
    text = tr(f"items.{s.kind}_done", number=s.draft.get("item_id", "?"), unit=unit, name=opener)
    return text + ("\n" + tr("items.item_closed", number=s.draft.get("item_id", "?")) if closed else "")
