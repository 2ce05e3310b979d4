"""Who hears of an alert at each stage of its escalation ladder."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

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


@dataclass
class Reach:
    """Everyone a tick may tell, read set-based once (a handful of queries whatever the county's size) instead of
    each unit's cadres and each target's leaders one query at a time: the same people as ``cadres``, ``leaders``
    and ``office`` (and services/items/scope.py's ``cadres``, ``unit_leaders``, ``admins``) in the same order."""

    today: date
    people: dict[int, Person]  # reachable people by id
    unit_cadres: dict[int, list[int]]  # unit -> its cadres' ids
    admin_ids: list[int]
    links: list[tuple[int, int | None, int | None]]  # (leader, target, unit)
    heads: dict[int, int]  # leading group -> its head
    muted: set[tuple[int, int]]  # (person, target) muted today
    _by_target: dict[int, set[int]] = field(default_factory=dict)
    _by_unit: dict[int, set[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for leader, target, unit in self.links:
            if target is not None:
                self._by_target.setdefault(target, set()).add(leader)
            if unit is not None:
                self._by_unit.setdefault(unit, set()).add(leader)

    def _reachable(self, ids: Iterable[int]) -> list[Person]:
        return [self.people[i] for i in sorted(set(ids)) if i in self.people]

    def cadres(self, unit_id: int) -> list[Person]:
        """``cadres`` (in id order)."""
        return self._reachable(self.unit_cadres.get(unit_id, ()))

    def cadres_by_name(self, unit_id: int) -> list[Person]:
        """services/items/scope.py's ``cadres``: by name, then id."""
        return sorted(self.cadres(unit_id), key=lambda p: (p.name, p.id or 0))

    def leaders(self, target_id: int, unit_id: int, leading_group_id: int | None) -> list[Person]:
        """``leaders`` of a standing (in id order)."""
        ids = self._by_target.get(target_id, set()) | self._by_unit.get(unit_id, set())
        if leading_group_id is not None and self.heads.get(leading_group_id) is not None:
            ids = ids | {self.heads[leading_group_id]}
        return self._reachable(i for i in ids if (i, target_id) not in self.muted)

    def unit_leaders(self, unit_id: int) -> list[Person]:
        """services/items/scope.py's ``unit_leaders``."""
        return self._reachable(self._by_unit.get(unit_id, ()))

    def office(self) -> list[Person]:
        return self._reachable(self.admin_ids)

    def ladder(self, alert: Alert, standing: Standing) -> list[tuple[Person, int]]:
        """Everyone the alert's stage reaches (stage 0..alert.stage: the unit's cadres, the linked leaders and the
        group head, the office); a stage with nobody in it passes the alert on to the next one."""
        ladder = [self.cadres(standing.unit_id),
                  self.leaders(standing.target_id, standing.unit_id, standing.leading_group_id)
                  if alert.stage >= 1 else [],
                  self.office() if alert.stage >= 2 else []]
        if alert.stage >= 1 and not ladder[1]:
            ladder[2] = self.office()
        return flatten(ladder)


def flatten(ladder: list[list[Person]]) -> list[tuple[Person, int]]:
    """(person, the first stage that reaches them), each person once."""
    out: list[tuple[Person, int]] = []
    seen: set[int] = set()
    for stage, people in enumerate(ladder):
        for person in people:
            if person.id is not None and person.id not in seen:
                seen.add(person.id)
                out.append((person, stage))
    return out


async def reach(session: AsyncSession, today: date) -> Reach:
    """Read everyone a tick may tell (see ``Reach``)."""
    people = {p.id: p for p in (await session.exec(_reachable(select(Person)))).all() if p.id is not None}
    roles = (await session.exec(select(RoleMembership.person_id, RoleMembership.role, RoleMembership.unit_id).where(
        col(RoleMembership.role).in_([Role.CADRE.value, Role.ADMIN.value])))).all()
    unit_cadres: dict[int, list[int]] = {}
    for person_id, role, unit_id in roles:
        if role == Role.CADRE.value and unit_id is not None:
            unit_cadres.setdefault(unit_id, []).append(person_id)
    links = (await session.exec(select(LeaderLink.leader_person_id, LeaderLink.target_id, LeaderLink.unit_id))).all()
    heads = (await session.exec(select(LeadingGroup.id, LeadingGroup.head_person_id))).all()
    muted = (await session.exec(select(Mute.person_id, Mute.target_id).where(Mute.until >= today))).all()
    return Reach(today, people, unit_cadres, [p for p, role, _ in roles if role == Role.ADMIN.value],
                 [tuple(row) for row in links], {g: h for g, h in heads if g is not None and h is not None},
                 {tuple(row) for row in muted})
