"""Where each assignment stands: claimed and effective value, expected value and pace, as of a date.

The effective value is services/progress/effective.py's rule (the inspector's finding binds; zero-base
counts only the year's results). Everything else (/mytargets, history, alerts, notices, exports) calls
``standings``; the year-end score reads the same rule set-based (services/scoring/load.py).
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
from services.progress.effective import read_effective
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
    verified: Decimal | None = None  # the standing verified value (an inspection's, or accepted evidence)
    verified_source: str | None = None  # "inspection" / "evidence"
    verified_at: datetime | None = None
    unverified_claim: bool = False  # claimed beyond the verified value: shown as "claimed, not verified"
    held_visits: int = 0  # visits whose verified value waits for an admin's confirmation (flagged evidence)
    mode: str = "continuous"
    carried: Decimal | None = None  # continuous: the value carried from last year's target (shown with it)

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


async def held_visits(session: AsyncSession, ids: list[int], until: datetime) -> dict[int, int]:
    """How many visits of each assignment wait for an admin's confirmation of their verified value."""
    if not ids:
        return {}
    rows = (await session.exec(
        select(Inspection.assignment_id, func.count()).where(
            col(Inspection.assignment_id).in_(ids), Inspection.confirmation == "pending",
            Inspection.visited_at <= until)
        .group_by(col(Inspection.assignment_id)))).all()
    return {aid: int(n) for aid, n in rows if aid is not None}


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
    out.sort(key=lambda s: s.urgency)
    return out
