"""What the database already holds of the plan, loaded once, and each row seen as workbook columns."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, inspect, text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import Role
from models.people import Person, RoleMembership
from models.plan import Assignment, LeaderLink, LeadingGroup, Target, Unit

PROGRESS_TABLE = "progress_reports"
_CHUNK = 5000

AssignmentKey = tuple[str, str]  # (target code, unit code)
LinkKey = tuple[str, str, str]  # (leader code, kind, target or unit code)


@dataclass
class Existing:
    units: dict[str, Unit] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    memberships: dict[int, list[RoleMembership]] = field(default_factory=lambda: defaultdict(list))
    groups: dict[str, LeadingGroup] = field(default_factory=dict)
    targets: dict[str, Target] = field(default_factory=dict)
    assignments: dict[AssignmentKey, Assignment] = field(default_factory=dict)
    links: dict[LinkKey, LeaderLink] = field(default_factory=dict)
    unit_codes: dict[int, str] = field(default_factory=dict)  # id -> code
    person_codes: dict[int, str] = field(default_factory=dict)
    group_codes: dict[int, str] = field(default_factory=dict)
    target_codes: dict[int, str] = field(default_factory=dict)

    def unit_code(self, unit_id: int | None) -> str | None:
        return self.unit_codes.get(unit_id) if unit_id is not None else None

    def link_key(self, link: LeaderLink) -> LinkKey:
        ref = self.target_codes.get(link.target_id) if link.target_id else self.unit_code(link.unit_id)
        return (self.person_codes.get(link.leader_person_id, "?"), link.kind, ref or "")


async def _all(session: AsyncSession, model: Any) -> list[Any]:
    return list((await session.exec(select(model).order_by(model.id))).all())


async def load_existing(session: AsyncSession) -> Existing:
    """Every plan row of the database, by code, in one query per table."""
    ex = Existing()
    for unit in await _all(session, Unit):
        ex.units[unit.code] = unit
        ex.unit_codes[unit.id] = unit.code
    for person in await _all(session, Person):
        ex.people[person.code] = person
        ex.person_codes[person.id] = person.code
    for m in await _all(session, RoleMembership):
        ex.memberships[m.person_id].append(m)
    for group in await _all(session, LeadingGroup):
        ex.groups[group.code] = group
        ex.group_codes[group.id] = group.code
    for target in await _all(session, Target):
        ex.targets[target.code] = target
        ex.target_codes[target.id] = target.code
    for a in await _all(session, Assignment):
        ex.assignments[(ex.target_codes[a.target_id], ex.unit_codes[a.unit_id])] = a
    for link in await _all(session, LeaderLink):
        ex.links[ex.link_key(link)] = link
    return ex


# Workbook column -> table attribute where they differ; reference columns hold codes.
ATTRIBUTES = {"class": "unit_class"}
REFERENCES = {
    "parent_code": ("parent_id", "units"),
    "unit_code": ("unit_id", "units"),
    "leading_group_code": ("leading_group_id", "groups"),
    "head_code": ("head_person_id", "people"),
}
FIELDS: dict[str, tuple[str, ...]] = {
    "units": ("name", "kind", "class", "parent_code", "latitude", "longitude", "radius_m"),
    "targets": ("year", "title", "category", "measure", "direction", "mode", "deadline",
                "leading_group_code", "report_interval_days", "description", "pillar"),
    "assignments": ("planned_value", "baseline_value", "weight", "deadline", "milestones",
                    "site_latitude", "site_longitude", "site_radius_m"),
    "people": ("name", "unit_code", "phone"),
    "groups": ("name", "head_code"),
}


def snapshot(sheet: str, obj: Any, ex: Existing) -> dict[str, Any]:
    """A table row as the workbook columns of ``sheet`` (references as codes)."""
    codes = {"units": ex.unit_codes, "groups": ex.group_codes, "people": ex.person_codes}
    result: dict[str, Any] = {}
    for key in FIELDS[sheet]:
        if key in REFERENCES:
            attr, table = REFERENCES[key]
            ref = getattr(obj, attr)
            result[key] = codes[table].get(ref) if ref is not None else None
        else:
            result[key] = getattr(obj, ATTRIBUTES.get(key, key))
    return result


def roles_text(roles: set[str] | tuple[str, ...]) -> str:
    """Roles in a stable order, e.g. ``leader;inspector``."""
    return ";".join(r.value for r in Role if r.value in roles)


def inspector_scope(memberships: list[RoleMembership]) -> str:
    return next((m.scope for m in memberships if m.role == Role.INSPECTOR.value), "")


async def assignments_with_progress(session: AsyncSession, ids: set[int] | list[int]) -> set[int]:
    """The assignments among ``ids`` that have progress reports (none while that table does not exist)."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    connection = await session.connection()
    exists = await connection.run_sync(lambda conn: inspect(conn).has_table(PROGRESS_TABLE))
    if not exists:
        return set()
    query = text(f"SELECT DISTINCT assignment_id FROM {PROGRESS_TABLE} WHERE assignment_id IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    found: set[int] = set()
    for start in range(0, len(wanted), _CHUNK):
        result = await connection.execute(query, {"ids": wanted[start:start + _CHUNK]})
        found.update(int(value) for (value,) in result)
    return found
