"""How alerts read: one block per alert, a person's blocks of one tick grouped into messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from config.i18n import th
from models.alerts import Alert
from models.people import Person
from services.plan.values import format_value
from services.progress.standings import Standing

MAX_TEXT = 3800  # Telegram allows 4,096 characters; keep room for the acknowledgement lines
MAX_ALERTS = 30  # 3 buttons each: Telegram allows 100 buttons in a message
ICON = {"info": "⏰", "yellow": "🟡", "red": "🔴", "overdue": "⛔"}


def details(s: Standing) -> dict[str, Any]:
    """The numbers at the time the alert was raised (kept with the alert)."""
    return {
        "planned": str(s.planned), "expected": str(s.pace.expected),
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
    elif alert.kind == "deadline":
        key = "alert.deadline.today" if alert.period == "T0" else "alert.deadline"
        params["left"] = alert.period.removeprefix("T-")
    text = f"{ICON.get(alert.level, '•')} #{alert.id} " + th(key, lang, **params)
    if alert.stage >= 1 and alert.level in ("yellow", "overdue"):
        text += "\n" + th("alert.escalated", lang)
    return text


@dataclass
class Chunk:
    text: str
    markup: dict[str, Any]
    items: list[tuple[Alert, Standing]] = field(default_factory=list)
    standings: dict[int, Standing] = field(default_factory=dict)


def _buttons(alert: Alert, lang: str | None, leader: bool) -> list[dict[str, str]]:
    row = [
        {"text": th("alert.btn_ack", lang, id=alert.id), "callback_data": f"al:ack:{alert.id}"},
        {"text": th("alert.btn_details", lang, id=alert.id), "callback_data": f"al:det:{alert.id}"},
    ]
    if leader:
        row.append({"text": th("alert.btn_ask", lang, id=alert.id), "callback_data": f"al:ask:{alert.id}"})
    return row


def group(items: list[tuple[Alert, Standing]], person: Person, *, is_leader: bool = False) -> list[Chunk]:
    """A person's alerts of one tick as few messages as Telegram's length allows (most severe first)."""
    order = {"red": 0, "overdue": 1, "yellow": 2, "info": 3}
    items = sorted(items, key=lambda it: (order.get(it[0].level, 9), it[1].deadline, it[0].id or 0))
    lang = person.language
    head = th("alert.header", lang, count=len(items))
    chunks: list[Chunk] = []
    current = Chunk(text=head, markup={"inline_keyboard": []})
    for alert, standing in items:
        text = block(alert, standing, person)
        full = len(current.items) >= MAX_ALERTS or len(current.text) + 2 + len(text) > MAX_TEXT
        if current.items and full:
            chunks.append(current)
            current = Chunk(text=head, markup={"inline_keyboard": []})
        current.text += "\n\n" + text
        current.items.append((alert, standing))
        current.standings[alert.id or 0] = standing
        current.markup["inline_keyboard"].append(_buttons(alert, lang, is_leader))
    if current.items:
        chunks.append(current)
    return chunks
