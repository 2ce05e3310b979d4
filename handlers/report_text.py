"""What the /report dialogue shows at each step: text and buttons from the catalogue."""

from __future__ import annotations

from decimal import Decimal

from telegram import InlineKeyboardMarkup

from config.i18n import Translator
from handlers.common import buttons
from services.plan.values import format_value
from services.progress.report import Snapshot, Step

MAX_CHOICES = 60


def _v(value: Decimal | None, measure: str, tr: Translator) -> str:
    return format_value(value, measure, tr.lang) if value is not None else tr("report.none_yet")



def target_line(s: Snapshot, tr: Translator) -> str:
    last = _v(s.last_value, s.measure, tr)
    if s.last_reporter:
        last = tr("report.last_by", value=last, name=s.last_reporter)
    return tr("report.target_line", title=s.title, code=s.target_code, unit=s.unit_name,
              planned=_v(s.planned, s.measure, tr), last=last)


def summary(s: Snapshot, tr: Translator) -> str:
    lines = [tr("report.summary_title"), target_line(s, tr), tr("report.summary_value", value=s.value_text)]
    if s.correction_reason:
        lines.append(tr("report.summary_correction", reason=s.correction_reason))
    lines.append(tr("report.summary_note", note=s.note or tr("report.none")))
    lines.append(tr("report.summary_files", count=s.files))
    return "\n".join(lines)


def prompt(s: Snapshot, tr: Translator) -> tuple[str, InlineKeyboardMarkup | None]:
    """The message that asks for the input of the draft's current step."""
    step = s.step
    if step == Step.CHOOSE_TARGET:
        rows = [[(f"{c.code} {c.title}"[:60], f"rep:t:{c.assignment_id}")] for c in s.choices[:MAX_CHOICES]]
        return tr("report.choose"), buttons(*rows)
    if step == Step.AWAIT_VALUE:
        return target_line(s, tr) + "\n" + tr("report.ask_value", measure=s.measure), None
    if step == Step.CONFIRM_DECREASE:
        return (tr("report.decrease", value=s.value_text, last=_v(s.last_value, s.measure, tr)),
                buttons([(tr("report.btn_correct"), "rep:correct"), (tr("report.btn_retype"), "rep:retype")]))
    if step == Step.CONFIRM_HIGH:
        return (tr("report.far_above", value=s.value_text, planned=_v(s.planned, s.measure, tr)),
                buttons([(tr("report.btn_keep"), "rep:keep"), (tr("report.btn_retype"), "rep:retype")]))
    if step == Step.AWAIT_REASON:
        return tr("report.ask_reason"), None
    if step == Step.AWAIT_NOTE:
        text = tr("report.understood", value=s.value_text) + "\n" + tr("report.ask_note")
        if s.note:
            text += "\n" + tr("report.current_note", note=s.note)
        return text, buttons([(tr("report.btn_skip"), "rep:skip")])
    if step == Step.AWAIT_FILES:
        return tr("report.ask_files", count=s.files), buttons([(tr("report.btn_done"), "rep:done")])
    if step == Step.CONFIRM:
        return summary(s, tr), buttons([
            (tr("report.btn_confirm"), f"rep:ok:{s.serial}"),
            (tr("report.btn_edit"), "rep:edit"),
            (tr("report.btn_cancel"), "rep:cancel"),
        ])
    return confirmed(s, tr), None


def confirmed(s: Snapshot, tr: Translator) -> str:
    text = tr("report.confirmed", title=s.title, value=s.value_text, number=s.report_id)
    if s.other_reporter is not None:
        text += "\n" + tr("report.other_meanwhile", name=s.other_reporter,
                          value=_v(s.other_value, s.measure, tr))
    if s.notice:
        text += "\n" + tr(s.notice, **s.notice_params)
    return text
