"""Pushes that fit one screen: a person's new alerts of one tick become one message of at most ``LIMIT``
characters — the counts by light and by kind, then the few worst lines (red first, then overdue, yellow and
reminders; within a light the largest gap first: expected − effective as a share of the planned change),
and two buttons: the full list (a new message, paged from the database: ``al:ls:<push>[:<page>]``) and
acknowledge them all (``al:aa:<push>``). A single alert whose full text fits is sent
whole, with its own buttons. A leader's or the office's push is grouped by unit: one line per unit, its worst.

A push is identified by its outbox row: every alert it carries has an ``AlertDelivery`` pointing at that row,
so the list is read from the database, never from the message (services/alerts/inbox.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from config.i18n import th
from models.alerts import Alert
from models.people import Person
from services.alerts.text import block
from services.plan.values import format_value

LIMIT = 600  # characters: about one phone screen
WORST = 5  # worst lines shown at most (fewer when they do not fit)
UNITS = 6  # units shown at most in a grouped push
TITLE = 14  # characters of a title in a line
UNIT = 8  # characters of a unit's name in a line
LEVELS = ("red", "overdue", "yellow", "info")
ICON = {"info": "⏰", "yellow": "🟡", "red": "🔴", "overdue": "⛔"}


@dataclass(frozen=True)
class Label:
    """What a line names: the target's title (an item's task) and the unit."""

    title: str
    unit: str
    unit_id: int
    measure: str = ""
    code: str = ""


def label_of(subject: Any) -> Label:
    """A Standing (services/progress) or an item reminder's Subject (services/alerts/overdue.py)."""
    if hasattr(subject, "reminder"):
        r = subject.reminder
        return Label(r.task, r.unit_name, r.unit_id)
    return Label(subject.title, subject.unit_name, subject.unit_id, subject.measure, subject.target_code)


def _decimal(raw: Any) -> Decimal | None:
    try:
        return Decimal(str(raw)) if raw is not None else None
    except InvalidOperation:
        return None


def gap_share(alert: Alert) -> Decimal:
    """How far behind, as a share of the planned change (0 when the alert carries no numbers)."""
    d = alert.details or {}
    gap, planned, base = _decimal(d.get("gap")), _decimal(d.get("planned")), _decimal(d.get("baseline")) or 0
    if gap is None or planned is None or planned == base:
        return Decimal(0)
    return abs(gap / (planned - base)) if gap > 0 else Decimal(0)


def severity(alert: Alert) -> tuple[int, Decimal, int]:
    """Sort key: red first, then overdue, yellow, reminders; the largest gap first; then the oldest alert."""
    level = LEVELS.index(alert.level) if alert.level in LEVELS else len(LEVELS)
    return (level, -gap_share(alert), alert.id or 0)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize()


def _short(text: str, width: int) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= width else line[: width - 1] + "…"


def line(alert: Alert, label: Label, lang: str | None, *, unit: bool = True) -> str:
    """One alert in one short line (HTML-escaped), e.g. ``🔴 #12 生猪出栏（青山村）差 700 个``."""
    d = alert.details or {}
    kind = alert.kind if alert.kind in ("pace", "overdue", "overdue_daily", "deadline", "missing_report", "item",
                                        "warning") else "other"
    if kind == "deadline" and alert.period == "T0":
        kind = "deadline_today"
    gap = _decimal(d.get("gap"))
    params: dict[str, object] = {
        "id": alert.id, "title": _short(label.title, TITLE), "number": d.get("item_id", ""),
        "percent": d.get("percent", "—"), "left": alert.period.removeprefix("T-"), "due": d.get("answer_by", ""),
        "gap": format_value(_cents(abs(gap)), label.measure, lang or "zh") if gap is not None and label.measure
        else "—",
    }
    if kind == "item":
        step = str(d.get("step", ""))
        step = "soon" if step.startswith("T-") else step.lower()
        params["step"] = th(f"push.step.{step}", lang, left=params["left"]) if step in (
            "sign", "daily", "overdue", "soon", "t0") else ""
    where = th("push.where", lang, unit=_short(label.unit, UNIT)) if unit else th("push.where_none", lang)
    text = f"{ICON.get(alert.level, '•')} " + th(f"push.line.{kind}", lang, where=where, **params)
    if alert.stage >= 1 and alert.level in ("yellow", "overdue") and alert.kind != "warning":
        text += " ⤴"
    return text


def counts(alerts: list[Alert], lang: str | None) -> list[str]:
    """Two lines: how many of each light, how many of each kind."""
    by_level = Counter(a.level for a in alerts)
    by_kind = Counter(a.kind for a in alerts)
    levels = " · ".join(th(f"push.level.{lv}", lang, icon=ICON[lv], count=by_level[lv])
                        for lv in LEVELS if by_level[lv])
    kinds = " · ".join(th("push.kind", lang, kind=th(f"alert.kind.{k}", lang), count=n)
                       for k, n in sorted(by_kind.items(), key=lambda kv: (-kv[1], kv[0])))
    return [levels, kinds]


def single_buttons(alert: Alert, lang: str | None, *, leader: bool) -> list[dict[str, str]]:
    """The buttons of one alert: Acknowledge (a warning notice: Answer, for the unit), Details (an item's card for
    an item's reminder), and for a leader or the office Ask for a report and 督办 (open a supervision item)."""
    d = alert.details or {}
    row = []
    if alert.kind == "warning":
        if not leader:
            row.append({"text": th("warning.btn_answer", lang, id=alert.id), "callback_data": f"wn:ans:{alert.id}"})
    else:
        row.append({"text": th("alert.btn_ack", lang, id=alert.id), "callback_data": f"al:ack:{alert.id}"})
    if alert.kind == "item" and isinstance(d.get("item_id"), int):
        row.append({"text": th("alert.btn_details", lang, id=alert.id), "callback_data": f"it:view:{d['item_id']}"})
    else:
        row.append({"text": th("alert.btn_details", lang, id=alert.id), "callback_data": f"al:det:{alert.id}"})
    if leader and alert.assignment_id:
        row.append({"text": th("alert.btn_ask", lang, id=alert.id), "callback_data": f"al:ask:{alert.id}"})
        row.append({"text": th("alert.btn_item", lang, id=alert.id), "callback_data": f"it:al:{alert.id}"})
    return row


def build(items: list[tuple[Alert, Any]], person: Person, *, by_unit: bool) -> tuple[str, bool]:
    """The push's text, and whether it is one alert shown in full (its own buttons, no list): a single alert
    whose full text fits the screen is shown as it is; otherwise the summary (``compose``)."""
    if len(items) == 1:
        alert, subject = items[0]
        text = block(alert, subject, person)
        if len(text) <= LIMIT:
            return text, True
    return compose(items, person.language, by_unit=by_unit), False


def buttons(items: list[tuple[Alert, Any]], person: Person, push_id: int, *, by_unit: bool, whole: bool
            ) -> dict[str, Any]:
    if whole:
        return {"inline_keyboard": [single_buttons(items[0][0], person.language, leader=by_unit)]}
    return markup(push_id, len(items), person.language)


def markup(push_id: int, total: int, lang: str | None, *, acknowledged: bool = False) -> dict[str, Any]:
    """The push's two buttons: the full list (page 0) and acknowledge all (gone once pressed)."""
    row = [{"text": th("push.btn_list", lang, count=total), "callback_data": f"al:ls:{push_id}"}]
    if not acknowledged:
        row.append({"text": th("push.btn_ack_all", lang), "callback_data": f"al:aa:{push_id}"})
    return {"inline_keyboard": [row]}


def _fit(head: list[str], body: list[str], total: int, more: str, lang: str | None) -> str:
    """As many body lines as fit within LIMIT (the head always), then a line saying how many of ``total`` are
    not shown (``more``: its catalogue key)."""
    shown = list(body)
    while True:
        tail = [th(more, lang, count=total - len(shown))] if len(shown) < total else []
        text = "\n".join(head + shown + tail)
        if len(text) <= LIMIT or not shown:
            return text
        shown.pop()


def compose(items: list[tuple[Alert, Any]], lang: str | None, *, by_unit: bool) -> str:
    """The push's text for one person's new alerts of a tick (``by_unit``: a leader's or the office's)."""
    items = sorted(items, key=lambda it: severity(it[0]))
    alerts = [a for a, _ in items]
    labels = [label_of(s) for _, s in items]
    if not by_unit:
        head = [th("push.head", lang, count=len(alerts)), *counts(alerts, lang), th("push.worst", lang)]
        body = [line(a, lb, lang) for a, lb in list(zip(alerts, labels, strict=True))[:WORST]]
        return _fit(head, body, len(alerts), "push.more", lang)
    units: dict[int, list[tuple[Alert, Label]]] = {}
    for a, lb in zip(alerts, labels, strict=True):
        units.setdefault(lb.unit_id, []).append((a, lb))  # in severity order: the first is the unit's worst
    ranked = sorted(units.values(), key=lambda rows: (severity(rows[0][0])[:2], -len(rows)))
    head = [th("push.head_units", lang, count=len(alerts), units=len(units)), *counts(alerts, lang),
            th("push.by_unit", lang)]
    body = [th("push.unit_line", lang, icon=ICON.get(rows[0][0].level, "•"), unit=_short(rows[0][1].unit, UNIT),
               count=len(rows), worst=line(rows[0][0], rows[0][1], lang, unit=False).split(" ", 1)[1])
            for rows in ranked[:UNITS]]
    return _fit(head, body, len(ranked), "push.more_units", lang)
