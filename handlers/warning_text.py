"""What the ``warning`` dialogue shows: the notice answered, each step's question and buttons, how it ended."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from config.i18n import Translator
from handlers.common import buttons
from services.alerts.warning import Snapshot, Step


def prompt(s: Snapshot, tr: Translator) -> tuple[str, InlineKeyboardMarkup | None]:
    """The message that asks for the input of the dialogue's current step (or tells how it ended)."""
    d, cancel = s.draft, (tr("warning.btn_cancel"), "wn:x")
    lead = (tr(s.notice) + "\n") if s.notice else ""
    head = tr("warning.head", title=s.title, unit=s.unit, due=s.answer_by) + "\n"
    if s.step == Step.REASON:
        return lead + head + tr("warning.ask_reason"), buttons([cancel])
    if s.step == Step.STEPS:
        return lead + tr("warning.ask_steps"), buttons([cancel])
    if s.step == Step.PHOTO:
        return lead + tr("warning.ask_photo"), buttons([(tr("warning.btn_skip"), "wn:skip"), cancel])
    if s.step == Step.CONFIRM:
        return (head + tr("warning.summary", reason=d.get("reason", ""), steps=d.get("next_steps", ""),
                          photos=1 if d.get("photo") else 0),
                buttons([(tr("warning.btn_send"), f"wn:y:{s.serial}"), cancel]))
    return tr("warning.done", id=d.get("alert_id", "?")), None
