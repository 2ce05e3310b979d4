"""Overdue rectification items in the scheduler tick: the owner first, then the unit's linked
leaders (or the office when none), then the office — the same ladder as other alerts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.alerts import Alert
from models.inspection import Rectification
from models.people import Person
from models.plan import LeaderLink, Unit
from services.alerts import recipients as alert_people
from services.inspection.rectify import overdue_items


@dataclass(frozen=True)
class Subject:
    """What an overdue item's alert shows (in place of an assignment's standing)."""

    rectification_id: int
    unit_id: int
    unit_name: str
    description: str
    deadline: date
    owner_id: int
    owner_name: str


async def due(session: AsyncSession, now: datetime, cal: Any, rules: Any, allowed: Callable[..., bool],
              result: Any) -> list[tuple[Alert, Subject, int]]:
    """Alerts for items past their deadline, created or climbing the ladder as working days pass."""
    pending: list[tuple[Alert, Subject, int]] = []
    if not allowed(False, now, cal, rules):
        return pending
    today = now.date()
    items = await overdue_items(session, today)
    open_ids = {r.id for r in items}
    for alert in (await session.exec(select(Alert).where(Alert.kind == "rectification",
                                                        Alert.state == "open"))).all():
        if (alert.details or {}).get("rectification_id") not in open_ids:
            alert.state = "resolved"  # closed (or submitted) since
            session.add(alert)
    for item in items:
        subject = await _subject(session, item)
        key = f"rectification|r{item.id}|overdue|{item.deadline.isoformat()}"
        alert = (await session.exec(select(Alert).where(Alert.key == key))).first()
        if alert is None:
            alert = Alert(key=key, kind="rectification", level="overdue", period=item.deadline.isoformat(),
                          created_at=now, stage=0, stage_at=now, details={"rectification_id": item.id})
            session.add(alert)
            await session.flush()
            result.created(alert.level)
        elif alert.state == "open" and alert.stage < 2:
            since = alert.stage_at.astimezone(now.tzinfo).date()
            if cal.workdays_between(since, today) >= rules.ack_timeout_working_days:
                alert.stage += 1
                alert.stage_at = now
                session.add(alert)
                result.escalated += 1
        pending.append((alert, subject, alert.stage))
    return pending


async def _subject(session: AsyncSession, item: Rectification) -> Subject:
    unit = await session.get(Unit, item.unit_id)
    owner = await session.get(Person, item.owner_person_id)
    return Subject(item.id or 0, item.unit_id, unit.name if unit else "?", item.description[:200], item.deadline,
                   item.owner_person_id, owner.name if owner else "?")


async def recipients(session: AsyncSession, alert: Alert, subject: Subject) -> list[tuple[Person, int]]:
    owner = await session.get(Person, subject.owner_id)
    ladder: list[list[Person]] = [[owner] if owner and owner.active and owner.telegram_user_id else [], [], []]
    if alert.stage >= 1:
        ids = set((await session.exec(select(LeaderLink.leader_person_id)
                                      .where(LeaderLink.unit_id == subject.unit_id))).all())
        leaders = (await session.exec(select(Person).where(col(Person.id).in_(ids)))).all() if ids else []
        ladder[1] = [p for p in leaders if p.active and p.telegram_user_id and p.unreachable_at is None]
        if not ladder[1] or alert.stage >= 2:
            ladder[2] = await alert_people.office(session)
    out: list[tuple[Person, int]] = []
    seen: set[int] = set()
    for stage, people in enumerate(ladder):
        for person in people:
            if person.id is not None and person.id not in seen:
                seen.add(person.id)
                out.append((person, stage))
    return out
