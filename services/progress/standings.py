"""Where each assignment stands: claimed and effective value, expected value and pace, as of a date.

The one place that computes the effective value (domain.md): the latest confirmed report's value,
unless a later inspection verified a lower one. Inspections arrive with the inspection feature; they
plug in at ``_verified_after``. Everything else (/mytargets, history, alerts, notices, scores) calls
``standings``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.inspection import Inspection
from models.people import Person
from models.plan import Assignment, Target, Unit
from models.progress import ProgressReport, TargetAdjustment
from services.progress.pace import Pace, PacePlan, pace, parse_milestones

URGENCY = {"overdue": 0, "red": 1, "yellow": 2, "not_started": 3, "on_track": 4, "done": 5}


@dataclass(frozen=True)
class Standing:
    assignment_id: int
    target_code: str
    title: str
    measure: str
    direction: str
    closed: bool
    unit_id: int
    unit_code: str
    unit_name: str
    target_id: int
    year: int
    report_interval_days: int
    leading_group_id: int | None
    planned: Decimal
    baseline: Decimal
    deadline: date
    claimed: Decimal | None
    effective: Decimal | None
    last_report_at: datetime | None
    last_reporter: str | None
    pace: Pace

    @property
    def urgency(self) -> tuple[int, int, str]:
        return (URGENCY.get(self.pace.status.value, 9), self.pace.days_left, self.target_code)


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.max, tzinfo=tz)


async def latest_reports(
    session: AsyncSession, assignment_ids: list[int], until: datetime | None = None
) -> dict[int, ProgressReport]:
    """The current (latest confirmed) report of each assignment, optionally as it stood at ``until``."""
    if not assignment_ids:
        return {}
    newest = select(func.max(ProgressReport.id)).where(col(ProgressReport.assignment_id).in_(assignment_ids))
    if until is not None:
        newest = newest.where(ProgressReport.confirmed_at <= until)
    newest = newest.group_by(col(ProgressReport.assignment_id))
    rows = (await session.exec(select(ProgressReport).where(col(ProgressReport.id).in_(newest)))).all()
    return {report.assignment_id: report for report in rows}


async def _verified_after(
    session: AsyncSession, reports: dict[int, ProgressReport], until: datetime | None
) -> dict[int, Decimal]:
    """For each reported assignment, the value verified by its latest inspection (visited by ``until``,
    with a verified value) that was visited after the report's confirmation."""
    if not reports:
        return {}
    query = select(Inspection).where(
        col(Inspection.assignment_id).in_(list(reports)), col(Inspection.verified_value).is_not(None)
    )
    if until is not None:
        query = query.where(Inspection.visited_at <= until)
    out: dict[int, Decimal] = {}
    for inspection in (await session.exec(query.order_by(col(Inspection.visited_at), col(Inspection.id)))).all():
        assert inspection.assignment_id is not None and inspection.verified_value is not None
        if inspection.visited_at > reports[inspection.assignment_id].confirmed_at:
            out[inspection.assignment_id] = inspection.verified_value  # later rows win: the latest visit
    return out


async def plan_as_of(
    session: AsyncSession, assignments: list[Assignment], day: date
) -> dict[int, tuple[Decimal, date | None]]:
    """Planned value and deadline override as they stood on ``day``: approved adjustments that apply
    from a later date are undone."""
    values = {a.id: (a.planned_value, a.deadline) for a in assignments if a.id is not None}
    if not values:
        return {}
    later = (
        await session.exec(
            select(TargetAdjustment)
            .where(
                col(TargetAdjustment.assignment_id).in_(list(values)),
                TargetAdjustment.status == "approved",
                col(TargetAdjustment.effective_from) > day,
            )
            .order_by(col(TargetAdjustment.id).desc())
        )
    ).all()
    for adj in later:
        planned, deadline = values[adj.assignment_id]
        if adj.field_name == "planned_value":
            planned = Decimal(adj.old_value)
        elif adj.field_name == "deadline":
            deadline = date.fromisoformat(adj.old_value) if adj.old_value else None
        values[adj.assignment_id] = (planned, deadline)
    return values


async def standings(
    session: AsyncSession, *, as_of: date, tz: ZoneInfo, unit_ids: list[int] | None = None,
    assignment_ids: list[int] | None = None,
) -> list[Standing]:
    """Every selected assignment's standing at the end of ``as_of``, most urgent first."""
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
    reports = await latest_reports(session, ids, until)
    verified = await _verified_after(session, reports, until)
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
        report = reports.get(a.id)
        claimed = report.value if report else None
        effective = min(claimed, verified[a.id]) if claimed is not None and a.id in verified else claimed
        plan = PacePlan(year=target.year, baseline=a.baseline_value, planned=planned, deadline=deadline,
                        milestones=parse_milestones(a.milestones), direction=target.direction)
        out.append(Standing(
            assignment_id=a.id, target_code=target.code, title=target.title, measure=target.measure,
            direction=target.direction, closed=target.closed, unit_id=unit.id or 0, unit_code=unit.code,
            unit_name=unit.name, target_id=target.id or 0, year=target.year,
            report_interval_days=target.report_interval_days, leading_group_id=target.leading_group_id,
            planned=planned, baseline=a.baseline_value, deadline=deadline, claimed=claimed, effective=effective,
            last_report_at=report.confirmed_at if report else None,
            last_reporter=reporters.get(report.reporter_person_id) if report else None,
            pace=pace(plan, effective, as_of),
        ))
    out.sort(key=lambda s: s.urgency)
    return out
