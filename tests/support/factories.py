"""Small data factories with unique values (for tests that do not need a whole plan)."""

from __future__ import annotations

import itertools

from models.db import Database
from models.enums import Role
from models.people import Person, RoleMembership
from models.plan import Unit
from services.core.clock import Clock

_seq = itertools.count(1)


async def add_unit(db: Database, clock: Clock, code: str | None = None, name: str | None = None,
                   kind: str = "village", unit_class: str = "village") -> Unit:
    n = next(_seq)
    unit = Unit(code=code or f"U{n:04d}", name=name or f"第{n}村", kind=kind, unit_class=unit_class,
                created_at=clock.now())
    async with db.uow() as uow:
        uow.session.add(unit)
        await uow.commit()
    return unit


async def add_person(db: Database, clock: Clock, *, name: str, unit: Unit | None = None,
                     roles: tuple[Role, ...] = (Role.CADRE,), telegram_user_id: int | None = None,
                     code: str | None = None, language: str | None = None) -> Person:
    person = Person(code=code or f"P{next(_seq):04d}", name=name, unit_id=unit.id if unit else None,
                    telegram_user_id=telegram_user_id, language=language, created_at=clock.now(),
                    joined_at=clock.now() if telegram_user_id else None)
    async with db.uow() as uow:
        uow.session.add(person)
        await uow.session.flush()
        assert person.id is not None
        for role in roles:
            uow.session.add(RoleMembership(person_id=person.id, role=role.value,
                                           unit_id=unit.id if unit and role != Role.ADMIN else None,
                                           created_at=clock.now()))
        await uow.commit()
    return person
