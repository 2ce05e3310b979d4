"""Who is talking to the bot: a registered person as a Viewer (roles, units, language), the admins named in
DUBAN_ADMIN_IDS, and a person's chosen language."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import LANGUAGES
from models.db import UnitOfWork
from models.enums import Role
from models.people import Person, RoleMembership
from models.plan import Unit
from services.core import audit, updates
from services.core.clock import Clock
from services.core.errors import DomainError, NotFound

ROLE_ORDER = [Role.ADMIN, Role.LEADER, Role.INSPECTOR, Role.CADRE, Role.ASSESSOR]


@dataclass(frozen=True)
class Membership:
    role: Role
    unit_code: str | None
    unit_name: str | None
    scope: str = ""


@dataclass(frozen=True)
class Viewer:
    """A registered person as the bot sees them for one update."""

    person_id: int
    code: str
    name: str
    language: str | None
    active: bool
    unit_code: str | None
    unit_name: str | None
    memberships: tuple[Membership, ...] = field(default_factory=tuple)

    @property
    def roles(self) -> list[Role]:
        present = {m.role for m in self.memberships}
        return [r for r in ROLE_ORDER if r in present]

    def holds(self, role: Role) -> bool:
        """A membership of ``role``, whether or not the person is still active."""
        return any(m.role == role for m in self.memberships)

    def has(self, role: Role) -> bool:
        """May act in ``role`` now: an active person holding it (a deactivated person has no role)."""
        return self.active and self.holds(role)


_UNREAD = object()


async def _viewer(session: AsyncSession, person: Person, unit: Unit | object | None = _UNREAD) -> Viewer:
    """``unit``: the person's unit when the caller read it with the person (None: none)."""
    rows = (
        await session.exec(
            select(RoleMembership, Unit)
            .join(Unit, col(RoleMembership.unit_id) == col(Unit.id), isouter=True)
            .where(RoleMembership.person_id == person.id)
            .order_by(col(RoleMembership.id))
        )
    ).all()
    memberships = tuple(
        Membership(Role(m.role), u.code if u else None, u.name if u else None, m.scope) for m, u in rows
    )
    if unit is _UNREAD:
        unit = await session.get(Unit, person.unit_id) if person.unit_id else None
    assert person.id is not None and (unit is None or isinstance(unit, Unit))
    return Viewer(
        person_id=person.id,
        code=person.code,
        name=person.name,
        language=person.language,
        active=person.active,
        unit_code=unit.code if unit else None,
        unit_name=unit.name if unit else None,
        memberships=memberships,
    )


async def cadre_unit_ids(session: AsyncSession, person: Person) -> list[int]:
    """The units a person reports for (their cadre memberships); read once per transaction."""
    kept = session.info.setdefault("duban_cadre_units", {})
    if person.id not in kept:
        rows = await session.exec(
            select(RoleMembership.unit_id).where(
                RoleMembership.person_id == person.id, RoleMembership.role == Role.CADRE.value
            )
        )
        kept[person.id] = [u for u in rows.all() if u is not None]
    return list(kept[person.id])


async def viewer_in(session: AsyncSession, telegram_user_id: int) -> Viewer | None:
    found = (await session.exec(
        select(Person, Unit).join(Unit, col(Person.unit_id) == col(Unit.id), isouter=True)
        .where(Person.telegram_user_id == telegram_user_id)
    )).first()
    return await _viewer(session, found[0], found[1]) if found else None


async def at_gate(update_id: int, telegram_user_id: int, *, uow: UnitOfWork) -> tuple[bool, Viewer | None]:
    """For the gate, in one read: whether the update was handled already, and who sent it (None: nobody
    registered; the viewer is not read for an update handled already)."""
    async with uow:
        if await updates.handled_in(uow.session, update_id):
            return True, None
        return False, await viewer_in(uow.session, telegram_user_id)


async def viewer_for(telegram_user_id: int, *, uow: UnitOfWork) -> Viewer | None:
    """The registered person behind a Telegram account, or None (deactivated people included)."""
    async with uow:
        return await viewer_in(uow.session, telegram_user_id)


async def ensure_admin(
    telegram_user_id: int, display_name: str, *, uow: UnitOfWork, clock: Clock
) -> Viewer:
    """A Telegram id listed in DUBAN_ADMIN_IDS becomes an admin person on first contact."""
    async with uow:
        session = uow.session
        person = (
            await session.exec(select(Person).where(Person.telegram_user_id == telegram_user_id))
        ).first()
        if person is None:
            person = Person(
                code=f"TG{telegram_user_id}",
                name=display_name[:64] or str(telegram_user_id),
                telegram_user_id=telegram_user_id,
                joined_at=clock.now(),
                created_at=clock.now(),
            )
            session.add(person)
            await session.flush()
            audit.record(session, clock, actor="config:DUBAN_ADMIN_IDS", action="person.create",
                         entity="person", key=person.code, after={"name": person.name, "role": "admin"})
        has_admin = (
            await session.exec(
                select(RoleMembership).where(
                    RoleMembership.person_id == person.id, RoleMembership.role == Role.ADMIN
                )
            )
        ).first()
        if has_admin is None:
            assert person.id is not None
            session.add(RoleMembership(person_id=person.id, role=Role.ADMIN, created_at=clock.now()))
            audit.record(session, clock, actor="config:DUBAN_ADMIN_IDS", action="membership.add",
                         entity="person", key=person.code, after={"role": "admin"})
        await session.flush()
        viewer = await _viewer(session, person)
        await uow.commit()
        return viewer


async def set_language(
    telegram_user_id: int, language: str, *, update_id: int | None, uow: UnitOfWork, clock: Clock
) -> None:
    if language not in LANGUAGES:
        raise DomainError("lang.unknown", choices=" | ".join(LANGUAGES))
    async with uow:
        session = uow.session
        await updates.claim(session, update_id, clock)
        person = (await session.exec(select(Person).where(Person.telegram_user_id == telegram_user_id))).first()
        if person is None:
            raise NotFound("error.not_registered")
        if person.language != language:
            audit.record(session, clock, actor=f"person:{person.code}", action="person.language",
                         entity="person", key=person.code, before={"language": person.language},
                         after={"language": language})
            person.language = language
            session.add(person)
        await uow.commit()
