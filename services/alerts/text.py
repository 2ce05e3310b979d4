"""How an alert reads in full (its Details, and the tick's per-alert record that tests and logs use); the push
that carries a person's alerts of a tick is composed in services/alerts/push.py."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from config.i18n import th
from models.alerts import Alert
from models.people import Person
from services.plan.values import format_value
from services.progress.standings import Standing

ICON = {"info": "⏰", "yellow": "🟡", "red": "🔴", "overdue": "⛔"}


def details(s: Standing) -> dict[str, Any]:
    """The numbers at the time the alert was raised (kept with the alert)."""
    return {
        "planned": str(s.planned), "baseline": str(s.baseline), "expected": str(s.pace.expected),
        "effective": str(s.effective) if s.effective is not None else None,
        "gap": str(s.pace.gap), "days_left": s.pace.days_left, "percent": str(s.pace.percent_complete),
    }


def _cents(value: Decimal) -> Decimal:
    """Computed figures (expected, gap) are shown to two decimals; reported ones as reported."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _values(s: Standing, lang: str) -> dict[str, object]:
    def v(x):  # type: ignore[no-untyped-def]
        return format_value(x, s.measure, lang) if x is not None else "—"

    return {
        "title": s.title, "code": s.target_code, "unit": s.unit_name, "deadline": s.deadline.isoformat(),
        "planned": v(s.planned), "expected": v(_cents(s.pace.expected)), "effective": v(s.effective),
        "gap": v(_cents(abs(s.pace.gap))), "days": s.pace.days_left, "over": -s.pace.days_left,
        "percent": f"{s.pace.percent_complete:.0f}", "interval": s.report_interval_days,
    }


def block(alert: Alert, s: Any, person: Person) -> str:
    lang = person.language
    if hasattr(s, "block"):  # a subject that is not an assignment's standing renders itself (a 督办件's reminder)
        return str(s.block(alert, person))
    params = _values(s, lang or "zh")
    key = f"alert.{alert.kind}"
    if alert.kind == "pace":
        key = f"alert.pace.{alert.level}"
    elif alert.kind == "warning":
        params["due"] = (alert.details or {}).get("answer_by", "")
    elif alert.kind == "deadline":
        key = "alert.deadline.today" if alert.period == "T0" else "alert.deadline"
        params["left"] = alert.period.removeprefix("T-")
    text = f"{ICON.get(alert.level, '•')} #{alert.id} " + th(key, lang, **params)
    if alert.kind == "warning" and alert.stage >= 1:
        text += "\n" + th("alert.warning_escalated", lang)
    elif alert.stage >= 1 and alert.level in ("yellow", "overdue"):
        text += "\n" + th("alert.escalated", lang)
    return text
