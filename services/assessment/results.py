"""Who may see which results: /score and /ranking. Cadres see their own unit; leaders the units of their
linked items (联系点) and of their leading group's targets; admins every unit, and while a round is still
open only they see it (a live preview, computed at most once a minute: services/assessment/rounds.py).
/ranking is for admins and leaders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UnitOfWork
from models.enums import CHINESE_NAMES, Role, UnitKind
from models.people import Person, RoleMembership
from models.plan import Assignment, LeaderLink, LeadingGroup, Target, Unit
from services.assessment import rounds
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.errors import DomainError
from services.scoring.results import UnitResult


@dataclass(frozen=True)
class Scope:
    admin: bool
    leader: bool
    units: frozenset[int]  # besides everything for an admin


async def _roles(s: AsyncSession, person: Person) -> set[str]:
    return set((await s.exec(select(RoleMembership.role).where(RoleMembership.person_id == person.id))).all())


async def leader_unit_ids(s: AsyncSession, person_id: int) -> set[int]:
    """Units of a leader's linked items (a linked unit, or the units a linked target is assigned to) and of
    the targets of the leading groups they head."""
    links = (await s.exec(select(LeaderLink).where(LeaderLink.leader_person_id == person_id))).all()
    units = {link.unit_id for link in links if link.unit_id is not None}
    targets = {link.target_id for link in links if link.target_id is not None}
    groups = select(LeadingGroup.id).where(LeadingGroup.head_person_id == person_id)
    query = select(Assignment.unit_id).join(Target, col(Target.id) == col(Assignment.target_id)).where(
        or_(col(Target.id).in_(targets or [-1]), col(Target.leading_group_id).in_(groups)))
    units |= set((await s.exec(query)).all())
    return units


async def scope_of(s: AsyncSession, person: Person) -> Scope:
    assert person.id is not None
    roles = await _roles(s, person)
    units: set[int] = set()
    if Role.CADRE.value in roles:
        units |= set((await s.exec(select(RoleMembership.unit_id).where(
            RoleMembership.person_id == person.id, RoleMembership.role == Role.CADRE.value))).all()) - {None}
    if Role.LEADER.value in roles:
        units |= await leader_unit_ids(s, person.id)
    return Scope(admin=Role.ADMIN.value in roles, leader=Role.LEADER.value in roles, units=frozenset(units))


@dataclass(frozen=True)
class ScoreView:
    year: int
    status: str
    live: bool
    unit: UnitResult | None  # None: choose one of ``choices``
    choices: list[UnitResult]
    appeal_until: datetime | None


async def score(user_id: int, unit_code: str | None, *, uow: UnitOfWork, clock: Clock,
                tz: ZoneInfo | None = None) -> ScoreView:
    """A unit's breakdown in the latest round, if the person may see it; without a code, their own unit
    (a cadre) or the units they may see to choose from (a leader)."""
    async with uow:
        s = uow.session
        person = await active_person(s, user_id)
        scope = await scope_of(s, person)
        if not scope.admin and not scope.units:
            raise DomainError("score_view.not_allowed")
        rnd = await rounds.latest_round(s)
        if rnd.status == rounds.OPEN and not scope.admin:
            raise DomainError("score_view.not_published", year=rnd.year)
        target_id: int | None = None
        if unit_code:
            unit = (await s.exec(select(Unit).where(func.upper(Unit.code) == unit_code.strip().upper()))).first()
            if unit is None:
                raise DomainError("score_view.unknown_unit", code=unit_code)
            if not scope.admin and unit.id not in scope.units:
                raise DomainError("score_view.not_allowed_unit", code=unit.code)
            target_id = unit.id
        elif not scope.admin and len(scope.units) == 1:
            target_id = next(iter(scope.units))
        elif scope.admin and not scope.units:
            raise DomainError("score_view.admin_usage")
        wanted = {target_id} if target_id is not None else set(scope.units)
        res = await rounds.results_in(s, rnd, tz or clock.tz, wanted, clock=clock)
        base = dict(year=rnd.year, status=rnd.status, live=res.live, appeal_until=rnd.appeal_until)
        if target_id is None:
            mine = [u for u in res.county.units if u.unit_id in scope.units]
            return ScoreView(unit=None, choices=mine, **base)  # type: ignore[arg-type]
        found = next((u for u in res.county.units if u.unit_id == target_id), None)
        if found is None:
            raise DomainError("score_view.no_result", code=unit_code or "", year=rnd.year)
        return ScoreView(unit=found, choices=[], **base)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RankingView:
    year: int
    status: str
    live: bool
    classes: dict[str, list[UnitResult]]  # every class, in rank order
    chosen: str | None  # the class asked for (or the only one)


def match_class(text: str, classes: list[str]) -> str | None:
    """A class by its name as stored, any case, or by the Chinese/English name of a unit kind."""
    wanted = text.strip().lower()
    for c in classes:
        if c.lower() == wanted:
            return c
    names = CHINESE_NAMES[UnitKind]
    aliases = dict(names) | {zh: en for en, zh in names.items()}
    other = aliases.get(text.strip()) or aliases.get(wanted)
    return next((c for c in classes if other is not None and c.lower() == other.lower()), None)


async def ranking(user_id: int, unit_class: str | None, *, uow: UnitOfWork, clock: Clock,
                  tz: ZoneInfo | None = None) -> RankingView:
    async with uow:
        s = uow.session
        person = await active_person(s, user_id)
        scope = await scope_of(s, person)
        if not scope.admin and not scope.leader:
            raise DomainError("ranking.not_allowed")
        rnd = await rounds.latest_round(s)
        if rnd.status == rounds.OPEN and not scope.admin:
            raise DomainError("score_view.not_published", year=rnd.year)
        res = await rounds.results_in(s, rnd, tz or clock.tz, clock=clock)
        classes = res.county.by_class()
        chosen: str | None = None
        if unit_class:
            chosen = match_class(unit_class, list(classes))
            if chosen is None:
                raise DomainError("ranking.unknown_class", value=unit_class,
                                  classes=", ".join(classes) or "—")
        elif len(classes) == 1:
            chosen = next(iter(classes))
        return RankingView(year=rnd.year, status=rnd.status, live=res.live, classes=classes, chosen=chosen)
