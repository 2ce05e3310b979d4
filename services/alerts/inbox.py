"""A push's full list, paged from the database (``al:ls:<push>:<page>``), and acknowledging all its alerts at once
(``al:aa:<push>``). A push is the outbox row that carried it; its alerts are the person's ``AlertDelivery`` rows
pointing at that row, so only the person it was sent to sees its list, and a page always shows the alerts as
they stand now (who acknowledged them and when)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import th
from models.alerts import Alert, AlertDelivery
from models.core import OutboxMessage
from models.db import UnitOfWork
from models.items import ItemPart, SupervisionItem
from models.people import Person
from models.plan import Assignment, Target, Unit
from services.alerts.push import Label, line, severity, single_buttons
from services.core import audit, updates
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.errors import DomainError

PAGE = 8  # alerts a page: 3 buttons each, and the text stays short


async def labels(s: AsyncSession, alerts: list[Alert]) -> dict[int, Label]:
    """Alert id -> what its line names (an assignment's target and unit; an item's task and unit)."""
    out: dict[int, Label] = {}
    assignment_ids = {a.assignment_id for a in alerts if a.assignment_id}
    if assignment_ids:
        rows = await s.exec(select(Assignment.id, Target.title, Target.measure, Target.code, Unit.id, Unit.name)
                            .join(Target, col(Target.id) == col(Assignment.target_id))
                            .join(Unit, col(Unit.id) == col(Assignment.unit_id))
                            .where(col(Assignment.id).in_(assignment_ids)))
        by_assignment = {aid: Label(title, unit, uid, measure, code) for aid, title, measure, code, uid, unit in rows}
        out |= {a.id or 0: by_assignment[a.assignment_id] for a in alerts if a.assignment_id in by_assignment}
    part_ids = {(a.details or {}).get("part_id") for a in alerts if not a.assignment_id}
    part_ids = {p for p in part_ids if isinstance(p, int)}
    if part_ids:
        rows2 = await s.exec(select(ItemPart.id, SupervisionItem.task, Unit.id, Unit.name)
                             .join(SupervisionItem, col(SupervisionItem.id) == col(ItemPart.item_id))
                             .join(Unit, col(Unit.id) == col(ItemPart.unit_id))
                             .where(col(ItemPart.id).in_(part_ids)))
        by_part = {pid: Label(task, unit, uid) for pid, task, uid, unit in rows2}
        out |= {a.id or 0: by_part[a.details["part_id"]] for a in alerts  # type: ignore[index]
                if not a.assignment_id and (a.details or {}).get("part_id") in by_part}
    return out


async def _delivered(s: AsyncSession, push_id: int, person: Person) -> tuple[list[Alert], bool]:
    """The push's alerts, worst first, and whether the person got it as a leader or the office."""
    rows = (await s.exec(select(Alert, AlertDelivery.stage)
                         .join(AlertDelivery, col(AlertDelivery.alert_id) == col(Alert.id))
                         .where(AlertDelivery.outbox_id == push_id, AlertDelivery.person_id == person.id))).all()
    if not rows:
        raise DomainError("push.unknown")
    return sorted((a for a, _ in rows), key=severity), any(stage >= 1 for _, stage in rows)


@dataclass(frozen=True)
class Row:
    alert: Alert
    label: Label
    acknowledged_by: str | None


@dataclass(frozen=True)
class Page:
    push_id: int
    number: int
    pages: int
    total: int
    open: int  # alerts of the push nobody has acknowledged yet
    rows: list[Row]
    leader: bool


async def page(push_id: int, number: int, *, user_id: int, uow: UnitOfWork, clock: Clock) -> Page:
    """One page of a push's alerts, as they stand now."""
    async with uow:
        s = uow.session
        person = await active_person(s, user_id)
        alerts, leader = await _delivered(s, push_id, person)
        pages = max(1, -(-len(alerts) // PAGE))
        number = min(max(number, 0), pages - 1)
        shown = alerts[number * PAGE:(number + 1) * PAGE]
        names = await labels(s, shown)
        ackers = {a.acknowledged_by_person_id for a in shown if a.acknowledged_by_person_id}
        who = {p.id: p.name for p in (await s.exec(select(Person).where(col(Person.id).in_(ackers)))).all()} \
            if ackers else {}
        rows = [Row(a, names.get(a.id or 0, Label("?", "?", 0)), who.get(a.acknowledged_by_person_id or 0))
                for a in shown]
        still = sum(1 for a in alerts if a.acknowledged_at is None and a.state != "resolved" and a.kind != "warning")
        return Page(push_id, number, pages, len(alerts), still, rows, leader)


def render(p: Page, lang: str | None, tz: ZoneInfo) -> tuple[str, dict[str, Any]]:
    """The page's text (HTML) and buttons: per alert Acknowledge and Details (a leader: Ask for a report),
    ◀ ▶, and acknowledge all while any is open."""
    lines = [th("push.list_head", lang, page=p.number + 1, pages=p.pages, total=p.total)]
    keyboard: list[list[dict[str, str]]] = []
    for n, r in enumerate(p.rows, p.number * PAGE + 1):
        text = f"{n}. " + line(r.alert, r.label, lang)
        if r.alert.acknowledged_at is not None:
            when = r.alert.acknowledged_at.astimezone(tz).strftime("%m-%d %H:%M")
            text += "\n    " + th("push.acked", lang, name=r.acknowledged_by or "?", when=when)
        elif r.alert.state == "resolved":
            text += "\n    " + th("push.resolved", lang)
        lines.append(text)
        keyboard.append(_buttons(r.alert, p, lang))
    nav = []
    if p.number > 0:
        nav.append({"text": "◀", "callback_data": f"al:ls:{p.push_id}:{p.number - 1}"})
    if p.open:
        nav.append({"text": th("push.btn_ack_all", lang), "callback_data": f"al:aa:{p.push_id}:{p.number}"})
    if p.number + 1 < p.pages:
        nav.append({"text": "▶", "callback_data": f"al:ls:{p.push_id}:{p.number + 1}"})
    if nav:
        keyboard.append(nav)
    return "\n".join(lines), {"inline_keyboard": keyboard}


def _buttons(alert: Alert, p: Page, lang: str | None) -> list[dict[str, str]]:
    """An alert's own buttons; Acknowledge comes back to this page, and goes once the alert is acknowledged."""
    row = single_buttons(alert, lang, leader=p.leader)
    done = alert.acknowledged_at is not None or alert.state == "resolved"
    out = []
    for b in row:
        if b["callback_data"].startswith("al:ack:"):
            if done:
                continue
            b = {**b, "callback_data": f"{b['callback_data']}:{p.push_id}:{p.number}"}
        if b["callback_data"].startswith("wn:ans:") and done:
            continue
        out.append(b)
    return out


@dataclass(frozen=True)
class AllAcknowledged:
    count: int  # acknowledged by this press
    total: int
    by: str
    at: datetime
    text: str  # the push as it was sent


async def acknowledge_all(push_id: int, *, user_id: int, update_id: int | None, uow: UnitOfWork,
                          clock: Clock, every: bool = False) -> AllAcknowledged:
    """Acknowledge every open alert of the push (``every``: every alert the person was ever told of and that is
    still open — the weekly digest's button); a warning notice is answered, not acknowledged. Audited."""
    async with uow:
        s = uow.session
        person = await active_person(s, user_id)
        pushed = await s.get(OutboxMessage, push_id)
        if every:
            if pushed is None or pushed.person_id != person.id:
                raise DomainError("push.unknown")
            alerts = list((await s.exec(select(Alert).join(AlertDelivery, col(AlertDelivery.alert_id) == col(
                Alert.id)).where(AlertDelivery.person_id == person.id, Alert.state == "open"))).all())
        else:
            alerts, _ = await _delivered(s, push_id, person)
        await updates.claim(s, update_id, clock)
        n = 0
        for alert in alerts:
            if alert.acknowledged_at is not None or alert.state == "resolved" or alert.kind == "warning":
                continue
            alert.acknowledged_at, alert.acknowledged_by_person_id = clock.now(), person.id
            alert.state = "acknowledged"
            s.add(alert)
            audit.record(s, clock, actor=f"person:{person.code}", action="alert.acknowledge", entity="alert",
                         key=alert.key, before={"state": "open"}, after={"state": "acknowledged", "push": push_id})
            n += 1
        await uow.commit()
        return AllAcknowledged(n, len(alerts), person.name, clock.now(), pushed.text if pushed else "")
