"""Who may do what with supervision items, and whose items a person sees.

- open an item: an admin or a leader (from an inspection: also the inspector who made it);
- sign for a part, write its progress notes and report it done: an active cadre of the part's unit;
- verify a reported part (核查: approve, has issues, reject): the item's opener, or an admin;
- see an item: everyone who may act on it, the leaders of its units (联系点: a linked unit, a unit of a
  linked target, a unit of a target of the leading group they head), and admins (all).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import Role
from models.items import ItemPart, SupervisionItem
from models.people import Person, RoleMembership
from models.plan import Assignment, LeaderLink, LeadingGroup, Target


@dataclass(frozen=True)
class Reach:
    """A person's roles and the units they answer for (cadre) or watch (leader)."""

    person: Person
    roles: frozenset[str]
    cadre_units: frozenset[int]
    leader_units: frozenset[int]

    @property
    def admin(self) -> bool:
        return Role.ADMIN.value in self.roles

    @property
    def leader(self) -> bool:
        return Role.LEADER.value in self.roles

    def may_open(self) -> bool:
        return self.admin or self.leader

    def may_verify(self, item: SupervisionItem) -> bool:
        return self.admin or item.opened_by_person_id == self.person.id

    def may_work(self, unit_id: int) -> bool:
        return unit_id in self.cadre_units

    def sees(self, item: SupervisionItem, unit_ids: set[int]) -> bool:
        return (self.admin or item.opened_by_person_id == self.person.id
                or bool(unit_ids & (self.cadre_units | self.leader_units)))


async def linked_units(session: AsyncSession, person_id: int) -> set[int]:
    """The units a leader watches: linked units, units of linked targets, units of their group's targets."""
    links = (await session.exec(select(LeaderLink).where(LeaderLink.leader_person_id == person_id))).all()
    units = {link.unit_id for link in links if link.unit_id is not None}
    targets = {link.target_id for link in links if link.target_id is not None}
    groups = select(LeadingGroup.id).where(LeadingGroup.head_person_id == person_id)
    targets |= set((await session.exec(select(Target.id).where(col(Target.leading_group_id).in_(groups)))).all())
    if targets:
        units |= set((await session.exec(select(Assignment.unit_id)
                                         .where(col(Assignment.target_id).in_(targets)))).all())
    return {u for u in units if u is not None}


async def reach(session: AsyncSession, person: Person) -> Reach:
    rows = (await session.exec(select(RoleMembership.role, RoleMembership.unit_id)
                               .where(RoleMembership.person_id == person.id))).all()
    roles = frozenset(role for role, _ in rows) if person.active else frozenset()
    cadre = frozenset(u for role, u in rows if role == Role.CADRE.value and u is not None) if person.active \
        else frozenset()
    leader = frozenset(await linked_units(session, person.id or 0)) if Role.LEADER.value in roles else frozenset()
    return Reach(person, roles, cadre, leader)


def visible(r: Reach):  # type: ignore[no-untyped-def]
    """A WHERE clause on SupervisionItem: the items ``r`` sees (None: all)."""
    if r.admin:
        return None
    units = r.cadre_units | r.leader_units
    mine = SupervisionItem.opened_by_person_id == r.person.id
    if not units:
        return mine
    parts = select(ItemPart.item_id).where(col(ItemPart.unit_id).in_(units))
    return or_(mine, col(SupervisionItem.id).in_(parts))


async def cadres(session: AsyncSession, unit_id: int) -> list[Person]:
    """The unit's active cadres who can be told (joined, not unreachable), by name."""
    return list((await session.exec(
        select(Person).join(RoleMembership, col(RoleMembership.person_id) == col(Person.id))
        .where(RoleMembership.role == Role.CADRE.value, RoleMembership.unit_id == unit_id,
               Person.active == True, col(Person.telegram_user_id).is_not(None),  # noqa: E712
               col(Person.unreachable_at).is_(None))
        .distinct().order_by(col(Person.name), col(Person.id)))).all())


async def unit_leaders(session: AsyncSession, unit_id: int) -> list[Person]:
    """The leaders linked to the unit itself (联系点), who can be told."""
    ids = select(LeaderLink.leader_person_id).where(LeaderLink.unit_id == unit_id)
    return list((await session.exec(
        select(Person).where(col(Person.id).in_(ids), Person.active == True,  # noqa: E712
                             col(Person.telegram_user_id).is_not(None), col(Person.unreachable_at).is_(None))
        .order_by(col(Person.id)))).all())


async def admins(session: AsyncSession) -> list[Person]:
    """The office's admins who can be told."""
    return list((await session.exec(
        select(Person).join(RoleMembership, col(RoleMembership.person_id) == col(Person.id))
        .where(RoleMembership.role == Role.ADMIN.value, Person.active == True,  # noqa: E712
               col(Person.telegram_user_id).is_not(None), col(Person.unreachable_at).is_(None))
        .distinct().order_by(col(Person.id)))).all())
