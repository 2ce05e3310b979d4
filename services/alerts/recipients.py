"""Who hears of an alert at each stage of its escalation ladder."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.alerts import Alert, Mute
from models.enums import Role
from models.people import Person, RoleMembership
from models.plan import LeaderLink, LeadingGroup
from services.progress.standings import Standing


def _reachable(query):  # type: ignore[no-untyped-def]
    return query.where(
        Person.active == True,  # noqa: E712
        col(Person.telegram_user_id).is_not(None),
        col(Person.unreachable_at).is_(None),
    )


async def cadres(session: AsyncSession, unit_id: int) -> list[Person]:
    query = (
        select(Person)
        .join(RoleMembership, col(RoleMembership.person_id) == col(Person.id))
        .where(RoleMembership.role == Role.CADRE.value, RoleMembership.unit_id == unit_id)
        .distinct()
    )
    return list((await session.exec(_reachable(query))).all())


async def leaders(session: AsyncSession, standing: Standing, today: date) -> list[Person]:
    """Leaders linked to the unit or the target (联系点) and the head of the target's leading group,
    less those who muted the target."""
    ids = set(
        (
            await session.exec(
                select(LeaderLink.leader_person_id).where(
                    or_(LeaderLink.target_id == standing.target_id, LeaderLink.unit_id == standing.unit_id)
                )
            )
        ).all()
    )
    if standing.leading_group_id is not None:
        group = await session.get(LeadingGroup, standing.leading_group_id)
        if group is not None and group.head_person_id is not None:
            ids.add(group.head_person_id)
    muted = set(
        (
            await session.exec(
                select(Mute.person_id).where(Mute.target_id == standing.target_id, Mute.until >= today)
            )
        ).all()
    )
    ids -= muted
    if not ids:
        return []
    return list((await session.exec(_reachable(select(Person).where(col(Person.id).in_(ids))))).all())


async def office(session: AsyncSession) -> list[Person]:
    query = (
        select(Person)
        .join(RoleMembership, col(RoleMembership.person_id) == col(Person.id))
        .where(RoleMembership.role == Role.ADMIN.value)
        .distinct()
    )
    return list((await session.exec(_reachable(query))).all())


async def recipients(session: AsyncSession, alert: Alert, standing: Standing, today: date) -> list[tuple[Person, int]]:
    """Everyone the alert's stage reaches (stage 0..alert.stage); a stage with nobody in it passes
    the alert on to the next one."""
    cache: dict[Any, list[Person]] = session.info.setdefault("alerts.recipients", {})

    async def once(key: Any, read: Callable[[], Awaitable[list[Person]]]) -> list[Person]:
        """Each unit's cadres, each target's leaders and the office read once per transaction (a tick)."""
        if key not in cache:
            cache[key] = await read()
        return cache[key]

    ladder = [
        await once(("cadres", standing.unit_id), lambda: cadres(session, standing.unit_id)),
        await once(("leaders", standing.target_id, standing.unit_id, today),
                   lambda: leaders(session, standing, today)) if alert.stage >= 1 else [],
        await once("office", lambda: office(session)) if alert.stage >= 2 else [],
    ]
    if alert.stage >= 1 and not ladder[1]:
        ladder[2] = await once("office", lambda: office(session))
    out: list[tuple[Person, int]] = []
    seen: set[int] = set()
    for stage, people in enumerate(ladder):
        for person in people:
            if person.id is not None and person.id not in seen:
                seen.add(person.id)
                out.append((person, stage))
    return out
