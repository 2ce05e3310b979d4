"""``standings`` as it was read before the column-wise read (main at 2da53da): ORM objects for every assignment,
target, unit and latest report, then the same rules. Kept only to prove the column-wise read returns the same
standings (tests/progress/test_standings_columns.py); nothing else calls it."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.inspection import Inspection
from models.people import Person
from models.plan import Assignment, Target, Unit
from services.progress.effective import read_effective
from services.progress.pace import PacePlan, pace, parse_milestones
from services.progress.standings import Standing, end_of_day, latest_reports, plan_as_of


async def held_visits(session: AsyncSession, ids: list[int], until) -> dict[int, int]:  # type: ignore[no-untyped-def]
    rows = (await session.exec(
        select(Inspection.assignment_id, func.count()).where(
            col(Inspection.assignment_id).in_(ids), Inspection.confirmation == "pending",
            Inspection.visited_at <= until)
        .group_by(col(Inspection.assignment_id)))).all()
    return {aid: int(n) for aid, n in rows if aid is not None}


async def standings_before(
    session: AsyncSession, *, as_of: date, tz: ZoneInfo, unit_ids: list[int] | None = None,
    assignment_ids: list[int] | None = None,
) -> list[Standing]:
    query = (
        select(Assignment, Target, Unit)
        .join(Target, col(Target.id) == col(Assignment.target_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
    )
    if unit_ids is not None:
        query = query.where(col(Assignment.unit_id).in_(unit_ids))
    if assignment_ids is not None:
        query = query.where(col(Assignment.id).in_(assignment_ids))
    rows = (await session.exec(query)).all()
    until = end_of_day(as_of, tz)
    ids = [a.id for a, _, _ in rows if a.id is not None]
    effective = await read_effective(session, {a.id: t for a, t, _ in rows if a.id is not None}, until, tz)
    reports = await latest_reports(session, ids, until)
    held = await held_visits(session, ids, until)
    plans = await plan_as_of(session, [a for a, _, _ in rows], as_of)
    reporters = {
        p.id: p.name
        for p in (
            await session.exec(
                select(Person).where(col(Person.id).in_({r.reporter_person_id for r in reports.values()}))
            )
        ).all()
    }
    out = []
    for a, target, unit in rows:
        assert a.id is not None
        planned, deadline_override = plans[a.id]
        deadline = deadline_override or target.deadline
        report, e = reports.get(a.id), effective[a.id]
        if report is not None and report.confirmed_at != e.claimed_at:  # zero-base: not last year's report
            report = None
        plan = PacePlan(year=target.year, baseline=a.baseline_value, planned=planned, deadline=deadline,
                        milestones=parse_milestones(a.milestones), direction=target.direction)
        out.append(Standing(
            assignment_id=a.id, target_code=target.code, title=target.title, measure=target.measure,
            direction=target.direction, closed=target.closed, unit_id=unit.id or 0, unit_code=unit.code,
            unit_name=unit.name, target_id=target.id or 0, year=target.year,
            report_interval_days=target.report_interval_days, leading_group_id=target.leading_group_id,
            planned=planned, baseline=a.baseline_value, deadline=deadline, claimed=e.claimed, effective=e.value,
            last_report_at=e.claimed_at, last_reporter=reporters.get(report.reporter_person_id) if report else None,
            pace=pace(plan, e.value, as_of), verified=e.verified.value if e.verified else None,
            verified_source=e.verified.source if e.verified else None,
            verified_at=e.verified.at if e.verified else None, unverified_claim=e.unverified_claim,
            held_visits=held.get(a.id, 0), mode=target.mode, carried=e.carried,
        ))
    out.sort(key=lambda s: (s.urgency, s.assignment_id))
    return out
