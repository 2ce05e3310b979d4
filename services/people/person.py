"""The office's changes to a person (``duban person``): deactivation ends their access at once (their
unused invitations are revoked, their history stays); a move takes their unit-bound roles along."""

from __future__ import annotations

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UnitOfWork
from models.people import Person, RoleMembership
from models.plan import Unit
from services.core import audit
from services.core.clock import Clock
from services.core.errors import NotFound
from services.people.invite import revoke_unused_for_person


async def _person_by_code(session: AsyncSession, code: str) -> Person:
    person = (await session.exec(select(Person).where(Person.code == code))).first()
    if person is None:
        raise NotFound("person.unknown", code=code)
    return person


async def deactivate(code: str, *, actor: str, uow: UnitOfWork, clock: Clock) -> bool:
    """End a person's access at once; their history stays. False if already inactive."""
    async with uow:
        person = await _person_by_code(uow.session, code)
        if not person.active:
            return False
        person.active = False
        uow.session.add(person)
        revoked = await revoke_unused_for_person(uow.session, person, clock)
        audit.record(uow.session, clock, actor=actor, action="person.deactivate", entity="person",
                     key=code, before={"active": True}, after={"active": False, "invitations_revoked": revoked})
        await uow.commit()
        return True


async def move(code: str, unit_code: str, *, actor: str, uow: UnitOfWork, clock: Clock) -> bool:
    """Move a person to another unit; their unit-bound roles (cadre, assessor) move with them."""
    async with uow:
        session = uow.session
        person = await _person_by_code(session, code)
        unit = (await session.exec(select(Unit).where(Unit.code == unit_code))).first()
        if unit is None:
            raise NotFound("unit.unknown", code=unit_code)
        if person.unit_id == unit.id:
            return False
        old_unit = await session.get(Unit, person.unit_id) if person.unit_id else None
        memberships = (
            await session.exec(select(RoleMembership).where(RoleMembership.person_id == person.id))
        ).all()
        for m in memberships:
            if m.unit_id == person.unit_id and m.unit_id is not None:
                duplicate = any(o.role == m.role and o.unit_id == unit.id for o in memberships)
                if duplicate:
                    await session.exec(delete(RoleMembership).where(col(RoleMembership.id) == m.id))
                else:
                    m.unit_id = unit.id
                    session.add(m)
        person.unit_id = unit.id
        session.add(person)
        audit.record(session, clock, actor=actor, action="person.move", entity="person", key=code,
                     before={"unit": old_unit.code if old_unit else None}, after={"unit": unit.code})
        await uow.commit()
        return True
