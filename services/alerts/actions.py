"""What people do with alerts: acknowledge, read details, ask the unit for a report, list, mute."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import th
from models.alerts import Alert, AlertDelivery, Mute
from models.db import UnitOfWork
from models.enums import Role
from models.items import ItemPart, SupervisionItem
from models.people import Person, RoleMembership
from models.plan import Target, Unit
from services.alerts import recipients
from services.core import audit, outbox, updates
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.errors import DomainError
from services.progress.standings import Standing, standings


@dataclass(frozen=True)
class Acknowledged:
    alert_id: int
    by: str
    at: datetime
    already: bool


async def _roles(session: AsyncSession, person: Person) -> set[str]:
    rows = await session.exec(select(RoleMembership.role).where(RoleMembership.person_id == person.id))
    return set(rows.all())


async def _visible_alert(session: AsyncSession, person: Person, alert_id: int) -> Alert:
    """An alert the person was told of (the office sees all)."""
    alert = await session.get(Alert, alert_id)
    told = (
        await session.exec(
            select(AlertDelivery.id).where(AlertDelivery.alert_id == alert_id, AlertDelivery.person_id == person.id)
        )
    ).first()
    if alert is None or (told is None and Role.ADMIN.value not in await _roles(session, person)):
        raise DomainError("alert.unknown")
    return alert


async def acknowledge(alert_id: int, telegram_user_id: int, *, update_id: int | None, uow: UnitOfWork,
                      clock: Clock) -> Acknowledged:
    """Stop the escalation, recording who and when; a second acknowledgement changes nothing."""
    async with uow:
        s = uow.session
        person = await active_person(s, telegram_user_id)
        alert = await _visible_alert(s, person, alert_id)
        if alert.acknowledged_at is not None:
            by = await s.get(Person, alert.acknowledged_by_person_id)
            return Acknowledged(alert_id, by.name if by else "?", alert.acknowledged_at, already=True)
        await updates.claim(s, update_id, clock)
        alert.acknowledged_at = clock.now()
        alert.acknowledged_by_person_id = person.id
        if alert.state == "open":
            alert.state = "acknowledged"
        s.add(alert)
        audit.record(s, clock, actor=f"person:{person.code}", action="alert.acknowledge", entity="alert",
                     key=alert.key, before={"state": "open"}, after={"state": alert.state})
        await uow.commit()
        return Acknowledged(alert_id, person.name, clock.now(), already=False)


async def _standing(session: AsyncSession, alert: Alert, clock: Clock) -> Standing:
    if alert.assignment_id is None:  # an overdue rectification item: /rectify shows it
        raise DomainError("alert.see_rectify")
    (found,) = await standings(session, as_of=clock.now().date(), tz=clock.tz,
                               assignment_ids=[alert.assignment_id or 0])
    return found


async def details(alert_id: int, telegram_user_id: int, *, uow: UnitOfWork, clock: Clock) -> tuple[Alert, Standing]:
    async with uow:
        person = await active_person(uow.session, telegram_user_id)
        alert = await _visible_alert(uow.session, person, alert_id)
        return alert, await _standing(uow.session, alert, clock)


async def ask_for_report(alert_id: int, telegram_user_id: int, *, update_id: int | None, uow: UnitOfWork,
                         clock: Clock) -> int:
    """A leader (or the office) asks the unit's cadres to report now; once a day per assignment."""
    async with uow:
        s = uow.session
        leader = await active_person(s, telegram_user_id)
        if not {Role.LEADER.value, Role.ADMIN.value} & await _roles(s, leader):
            raise DomainError("alert.ask_not_leader")
        alert = await _visible_alert(s, leader, alert_id)
        standing = await _standing(s, alert, clock)
        await updates.claim(s, update_id, clock)
        n = 0
        for cadre in await recipients.cadres(s, standing.unit_id):
            row = await outbox.enqueue_to_person(
                s, clock, cadre, kind="ask_report", parse_mode="HTML",
                dedup_key=f"ask:{alert.assignment_id}:{clock.now().date().isoformat()}",
                text=th("alert.ask_message", cadre.language, leader=leader.name, title=standing.title,
                        code=standing.target_code),
            )
            n += row is not None
        audit.record(s, clock, actor=f"person:{leader.code}", action="alert.ask_report", entity="alert",
                     key=alert.key, after={"asked": n})
        await uow.commit()
        return n


@dataclass(frozen=True)
class Listed:
    alert: Alert
    title: str
    unit: str


async def list_alerts(telegram_user_id: int, *, uow: UnitOfWork, clock: Clock, days: int = 30) -> list[Listed]:
    """The person's alerts of the last ``days`` (the office: everyone's), newest first."""
    async with uow:
        s = uow.session
        person = await active_person(s, telegram_user_id)
        query = select(Alert).where(Alert.created_at >= clock.now() - timedelta(days=days))
        if Role.ADMIN.value not in await _roles(s, person):
            mine = select(AlertDelivery.alert_id).where(AlertDelivery.person_id == person.id)
            query = query.where(col(Alert.id).in_(mine))
        alerts = (await s.exec(query.order_by(col(Alert.id).desc()).limit(30))).all()
        ids = [a.assignment_id for a in alerts if a.assignment_id]
        names = {st.assignment_id: st for st in await standings(s, as_of=clock.now().date(), tz=clock.tz,
                                                                 assignment_ids=ids)} if ids else {}
        items = await _rectifications(s, [(a.details or {}).get("part_id") for a in alerts])
        out = []
        for a in alerts:
            if a.assignment_id in names:
                out.append(Listed(a, names[a.assignment_id].title, names[a.assignment_id].unit_name))
            elif (a.details or {}).get("part_id") in items:  # a supervision item's reminder (督办件)
                out.append(Listed(a, *items[a.details["part_id"]]))  # type: ignore[index]
        return out


async def _rectifications(s: AsyncSession, ids: list[Any]) -> dict[int, tuple[str, str]]:
    """Supervision item part id -> (its item's task, shortened; its unit's name)."""
    wanted = [i for i in ids if isinstance(i, int)]
    if not wanted:
        return {}
    rows = await s.exec(select(ItemPart.id, SupervisionItem.task, Unit.name)
                        .join(SupervisionItem, col(SupervisionItem.id) == col(ItemPart.item_id))
                        .join(Unit, col(Unit.id) == col(ItemPart.unit_id))
                        .where(col(ItemPart.id).in_(wanted)))
    return {rid: (text if len(text) <= 40 else text[:39] + "…", unit) for rid, text, unit in rows.all()}


async def mute(target_code: str, days: int, telegram_user_id: int, *, update_id: int | None, uow: UnitOfWork,
               clock: Clock) -> tuple[str, str]:
    """A leader pauses a target's alerts for 1–90 days (audited)."""
    if not 1 <= days <= 90:
        raise DomainError("mute.usage")
    async with uow:
        s = uow.session
        person = await active_person(s, telegram_user_id)
        if Role.LEADER.value not in await _roles(s, person):
            raise DomainError("mute.not_leader")
        target = (await s.exec(select(Target).where(func.lower(Target.code) == target_code.lower()))).first()
        if target is None:
            raise DomainError("mute.unknown_target", code=target_code)
        await updates.claim(s, update_id, clock)
        until = clock.now().date() + timedelta(days=days)
        s.add(Mute(person_id=person.id, target_id=target.id, until=until, created_at=clock.now()))
        audit.record(s, clock, actor=f"person:{person.code}", action="alert.mute", entity="target", key=target.code,
                     after={"until": until, "days": days})
        await uow.commit()
        return target.code, until.isoformat()

