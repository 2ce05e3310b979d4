"""Reading the plan's rows by id, as the features need them together."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from models.plan import Assignment, Target, Unit


async def assignment_rows(s: AsyncSession, assignment_id: int | None) -> tuple[Assignment, Target, Unit] | None:
    """The assignment with its target and unit; None if any of them is gone."""
    a = await s.get(Assignment, assignment_id) if assignment_id is not None else None
    target = await s.get(Target, a.target_id) if a else None
    unit = await s.get(Unit, a.unit_id) if a else None
    if a is None or target is None or unit is None:
        return None
    # The session's identity map holds objects weakly: kept here, a second look in this transaction (a
    # dialogue step reads its assignment two or three times) reads nothing from the database.
    s.info.setdefault("duban_kept_rows", []).extend((a, target, unit))
    return a, target, unit
