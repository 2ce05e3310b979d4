"""Which units an inspector may visit: the scope of their inspector memberships (unit codes or unit
classes; empty = every unit)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import Role
from models.people import Person, RoleMembership
from models.plan import Unit
from services.core.errors import DialogueEnded


@dataclass(frozen=True)
class UnitChoice:
    unit_id: int
    code: str
    name: str


async def inspector_scope(session: AsyncSession, person: Person) -> frozenset[str] | None:
    """Unit codes and classes (casefolded) of the person's inspector memberships; None = every unit.
    Not an inspector (any more): a refusal that ends the dialogue."""
    rows = (await session.exec(select(RoleMembership.scope).where(
        RoleMembership.person_id == person.id, RoleMembership.role == Role.INSPECTOR.value))).all()
    if not rows:
        raise DialogueEnded("inspect.not_inspector")
    tokens: set[str] = set()
    for scope in rows:
        parts = {p.strip().casefold() for p in (scope or "").split(";") if p.strip()}
        if not parts:
            return None
        tokens |= parts
    return frozenset(tokens)


def in_scope(unit: Unit, scope: frozenset[str] | None) -> bool:
    if scope is None:
        return True
    return unit.code.casefold() in scope or bool(unit.unit_class and unit.unit_class.casefold() in scope)


async def units_in_scope(session: AsyncSession, scope: frozenset[str] | None) -> list[Unit]:
    rows = (await session.exec(select(Unit).where(Unit.active == True).order_by(col(Unit.code)))).all()  # noqa: E712
    return [u for u in rows if in_scope(u, scope)]


def unit_choices(units: list[Unit]) -> tuple[UnitChoice, ...]:
    return tuple(UnitChoice(u.id or 0, u.code, u.name) for u in units)
