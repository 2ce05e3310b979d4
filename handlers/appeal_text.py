"""What /appeal and the office's decision show: text and buttons from the catalogue."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from config.i18n import Translator
from services.assessment.appeal import Step
from services.assessment.appeal_records import AppealView
from services.core.dialogue import DONE
from services.scoring import text as results_text


def confirm_buttons(tr: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(tr("appeal.btn_send"), callback_data="apl:send"),
                                  InlineKeyboardButton(tr("appeal.btn_cancel"), callback_data="apl:cancel")]])


def filing(step: str, standing, reason: str, filed: AppealView | None, tr: Translator  # type: ignore[no-untyped-def]
           ) -> tuple[str, InlineKeyboardMarkup | None]:
    """The cadre's appeal at ``step``: the published result and the question, the reason with Send / Cancel,
    or the appeal filed."""
    if step == DONE and filed is not None:
        return tr("appeal.filed", number=filed.id, unit=filed.unit_name), None
    if step == Step.CONFIRM:
        return tr("appeal.confirm_prompt", unit=standing.result.unit_name, reason=reason), confirm_buttons(tr)
    return "\n".join([results_text.summary(standing.result, tr), "",
                      tr("appeal.prompt", until=standing.appeal_until.strftime("%Y-%m-%d %H:%M"))]), None


def decided(view: AppealView, tr: Translator) -> str:
    """The office's decision as the deciding admin reads it."""
    if view.status == "accepted":
        return tr("appeal.decided_accept", number=view.id, unit=view.unit_name,
                  correction=results_text.display(view.correction) if view.correction is not None else "0.00",
                  total=results_text.display(view.total) if view.total is not None else "—",
                  rank=view.rank if view.rank is not None else "—", reason=view.decision_reason or "")
    return tr("appeal.decided_reject", number=view.id, unit=view.unit_name, reason=view.decision_reason or "")
