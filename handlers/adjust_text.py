"""What the /adjust dialogue and the office's decision show: text and buttons from the catalogue."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from config.i18n import Translator
from handlers.common import buttons
from services.plan.values import format_value
from services.progress import adjust
from services.progress.adjust import Request, Snapshot, Step, shown


def _target_line(s: Snapshot, tr: Translator) -> str:
    return tr("adjust.target_line", title=s.title, code=s.target_code, unit=s.unit_name,
              planned=format_value(s.planned, s.measure, tr.lang), deadline=s.deadline.isoformat())


def _old(s: Snapshot, tr: Translator) -> str:
    if s.was is not None:
        return _new(s, s.was, tr)
    return format_value(s.planned, s.measure, tr.lang) if s.field == "planned_value" else s.deadline.isoformat()


def _new(s: Snapshot, value: str | None, tr: Translator) -> str:
    return shown(s.field or "", value or "", s.measure, tr.lang, s.deadline)


def prompt(s: Snapshot, tr: Translator) -> tuple[str, InlineKeyboardMarkup | None]:
    """The message that asks for the input of the dialogue's current step."""
    if s.step == Step.CHOOSE_FIELD:
        return (_target_line(s, tr) + "\n" + tr("adjust.choose_field"),
                buttons([(tr("adjust.btn_planned"), "adj:f:p"), (tr("adjust.btn_deadline"), "adj:f:d")],
                         [(tr("adjust.btn_cancel"), "adj:x")]))
    if s.step == Step.AWAIT_VALUE:
        if s.field == "planned_value":
            return tr("adjust.ask_planned", current=_old(s, tr), measure=s.measure), None
        return tr("adjust.ask_deadline", current=_old(s, tr)), None
    if s.step == Step.AWAIT_REASON:
        assert s.new_value is not None
        return (tr("adjust.understood", field=tr(f"adjust.field.{s.field}"), value=_new(s, s.new_value, tr))
                + "\n" + tr("adjust.ask_reason", min=adjust.MIN_REASON)), None
    assert s.new_value is not None
    change = tr("adjust.summary", title=s.title, code=s.target_code, unit=s.unit_name,
                field=tr(f"adjust.field.{s.field}"), old=_old(s, tr), new=_new(s, s.new_value, tr),
                reason=s.reason or "")
    if s.step == Step.CONFIRM:
        return change, buttons([(tr("adjust.btn_confirm"), f"adj:y:{s.serial}"), (tr("adjust.btn_cancel"), "adj:x")])
    return tr("adjust.submitted", number=s.adjustment_id) + "\n" + change, None


def decision_text(r: Request, tr: Translator) -> str:
    """Who decided, when, and from when it applies."""
    when = r.decided_at.strftime("%Y-%m-%d %H:%M") if r.decided_at else ""
    if r.status == "approved":
        return tr("adjust.decided_approved", name=r.decided_by or "?", when=when,
                  date=r.effective_from.isoformat() if r.effective_from else "")
    return tr("adjust.decided_rejected", name=r.decided_by or "?", when=when)
