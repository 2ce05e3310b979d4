"""What a signed-in person may see on the dashboard: exactly /score's scoping
(services/assessment/results.py: cadres their unit, leaders their linked units and their group's line,
admins everything), plus an inspector's scope (services/inspection/scope.py). Every JSON route asks
``View.sees`` (or reads only within ``unit_ids``); another unit's data is refused with ``Forbidden``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import normalise_language
from models.enums import Role
from models.people import Person, RoleMembership
from services.assessment.results import scope_of
from services.core.errors import DomainError
from services.inspection.scope import inspector_scope, units_in_scope


class Forbidden(DomainError):
    """Signed in, but this is another unit's data (HTTP 403)."""

    key = "dash.forbidden"


@dataclass(frozen=True)
class View:
    person_id: int
    code: str
    name: str
    lang: str
    roles: frozenset[str]
    everything: bool  # admins, and inspectors without a scope
    units: frozenset[int]  # besides everything

    @property
    def admin(self) -> bool:
        return Role.ADMIN.value in self.roles

    def sees(self, unit_id: int) -> bool:
        return self.everything or unit_id in self.units

    def check(self, unit_id: int) -> None:
        if not self.sees(unit_id):
            raise Forbidden


async def view_of(s: AsyncSession, person: Person, default_lang: str = "zh") -> View:
    assert person.id is not None
    roles = frozenset((await s.exec(select(RoleMembership.role).where(RoleMembership.person_id == person.id))).all())
    scope = await scope_of(s, person)
    everything = scope.admin
    units = set(scope.units)
    if Role.INSPECTOR.value in roles:
        tokens = await inspector_scope(s, person)
        if tokens is None:
            everything = True
        else:
            units |= {u.id for u in await units_in_scope(s, tokens) if u.id is not None}
    return View(person.id, person.code, person.name, normalise_language(person.language, default_lang), roles,
                everything, frozenset(units))
