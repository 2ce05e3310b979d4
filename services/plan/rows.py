"""Reading the plan's rows by id, as the features need them together."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from models.plan import Assignment, Target, Unit


async def assignment_rows(s: AsyncSession, assignment_id: int | None) -> tuple[Assignment, Target, Unit] | None:
    """The assignment with its target and unit; None if any of them is gone."""
    a = await s.get(Assignment, assignment_id) if assignment_id is not None else None
    target = await s.get(Target, a.target_id) if a else None
    unit = await s.get(Unit, a.unit_id) if a else None
    return (a, target, unit) if a is not None and target is not None and unit is not None else None
