"""What the public survey shows: the question with its answers, the answer recorded, the offer of a
comment. Text and buttons from the catalogue."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from config.i18n import Translator
from handlers.common import buttons
from services.assessment import survey
from services.assessment.survey import SurveyView


def question(view: SurveyView, tr: Translator) -> tuple[str, InlineKeyboardMarkup]:
    """The unit and year with the three answers (``sv:a:<token>:<s|b|u>``)."""
    plain = Translator(tr.lang, html=False)  # button labels are not HTML
    rows = [[(plain(f"survey.answer.{a}"), f"sv:a:{view.token}:{a[0]}")] for a in survey.ANSWERS]
    return tr("survey.question", unit=view.unit_name, year=view.year), buttons(*rows)


def recorded(view: SurveyView, tr: Translator) -> str:
    """The question's message once answered: the choice instead of the buttons."""
    chosen = Translator(tr.lang, html=False)(f"survey.answer.{view.answer}")
    return tr("survey.recorded", unit=view.unit_name, year=view.year, answer=chosen)


def thanks(view: SurveyView, tr: Translator) -> tuple[str, InlineKeyboardMarkup]:
    """Thanks, and the optional comment (the next text, or Skip)."""
    return tr("survey.thanks", unit=view.unit_name), buttons([(tr("survey.btn_skip"), "sv:skip")])
