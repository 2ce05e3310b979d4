"""Export the plan in the workbook format, so that importing the export changes nothing.

Inactive units and people are left out (importing them would reactivate them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.db import UnitOfWork
from services.plan.state import Existing, inspector_scope, load_existing, roles_text, snapshot
from services.plan.validate import link_ref_column
from services.plan.workbook import build_workbook

__all__ = ["export_plan", "plan_rows"]


def plan_rows(ex: Existing) -> dict[str, list[dict[str, Any]]]:
    """Every plan row of the database as workbook rows (column key -> value)."""
    rows: dict[str, list[dict[str, Any]]] = {}
    rows["units"] = [{"code": c, **snapshot("units", u, ex)} for c, u in ex.units.items() if u.active]
    rows["targets"] = [{"code": c, **snapshot("targets", t, ex)} for c, t in ex.targets.items()]
    rows["assignments"] = [{"target_code": tc, "unit_code": uc, **snapshot("assignments", a, ex)}
                           for (tc, uc), a in ex.assignments.items()]
    people = []
    for code, person in ex.people.items():
        if not person.active:
            continue
        held = ex.memberships.get(person.id, [])
        roles = {m.role for m in held}
        scope = inspector_scope(held)
        people.append({"code": code, **snapshot("people", person, ex),
                       "role": tuple(roles_text(roles).split(";")) if roles else (),
                       "scope": tuple(scope.split(";")) if scope else ()})
    rows["people"] = people
    rows["groups"] = [{"code": c, **snapshot("groups", g, ex)} for c, g in ex.groups.items()]
    rows["links"] = [{"leader_code": leader, "kind": kind, link_ref_column(kind): ref}
                     for (leader, kind, ref) in ex.links]
    return rows


async def export_plan(path: Path, *, db_uow: UnitOfWork) -> None:
    """Write the plan of the database to ``path`` (.xlsx), in the template's format without examples."""
    try:
        db_uow.session  # noqa: B018 - raises outside ``async with``
        entered = True
    except RuntimeError:
        entered = False
    if entered:
        ex = await load_existing(db_uow.session)
    else:
        async with db_uow:
            ex = await load_existing(db_uow.session)
    build_workbook(plan_rows(ex)).save(path)
