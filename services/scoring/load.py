"""The data a year's score needs, read set-based: a fixed handful of queries whatever the county's
size. One query gives every assignment of the round with the value of its latest report counted and
the value verified by the latest inspection after that report; the others read the units, targets,
later plan adjustments, peer and inspection scores, survey counts, items and leading groups. Rows
are read through SQLAlchemy Core (no ORM objects): this is the hot path of the ranking benchmark.
The formula is in services/scoring/formula.py.

The reads run on the event loop, every other county of the process beside them, so the big ones come
in partitions (``PARTITION`` rows, the loop runs between them) and the rows of the main query are kept
as read: ``prepare`` makes them ``AssignmentRow`` values with exact decimals (20,000 of them: tens of
milliseconds of CPU), in the worker thread that computes the scores (formula.calculate)."""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Numeric, String, and_, case, func, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import aliased
from sqlmodel import col
from sqlmodel import select as orm_select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.assessment import AssessmentItem, PeerScore, SurveyResponse
from models.inspection import Inspection
from models.plan import Assignment, LeadingGroup, Target, Unit
from models.progress import ProgressReport, TargetAdjustment
from services.progress.effective import Effective, Verification, carried_from, effective_of, with_carried
from services.progress.pace import parse_milestones
from services.progress.standings import end_of_day
from services.scoring.context import load_context


class UnitRow(NamedTuple):
    id: int
    code: str
    name: str
    unit_class: str


class TargetRow(NamedTuple):
    id: int
    code: str
    title: str
    measure: str
    mode: str
    direction: str
    leading_group_id: int | None
    category: str = "other"
    deadline: date | None = None


class AssignmentRow(NamedTuple):
    id: int
    unit_id: int
    target_id: int
    baseline: Decimal
    planned: Decimal
    weight: Decimal
    effective: Effective  # at the cut-off (services/progress/effective.py's rule)
    deadline: date | None = None  # as it stood on the cut-off day
    on_time: Effective | None = None  # at the end of the deadline, when it is before the cut-off
    milestones: tuple[tuple[date, Decimal, Effective], ...] = ()  # (day, percent, effective then), when weighed


class ItemRow(NamedTuple):
    id: int
    unit_id: int
    kind: str
    points: Decimal | None
    reason: str
    evidence: str


PARTITION = 5000  # rows processed on the event loop at a time


@dataclass
class ScoringData:
    year: int = 0
    tz: ZoneInfo | None = None  # the county's: the day a value was reached on
    units: dict[int, UnitRow] = field(default_factory=dict)
    targets: dict[int, TargetRow] = field(default_factory=dict)
    assignments: list[AssignmentRow] = field(default_factory=list)  # filled by ``prepare``
    raw: list[Any] = field(default_factory=list)  # the main query's rows, as read
    undo: dict[int, Decimal] = field(default_factory=dict)  # assignment -> planned value as of the cut-off
    undo_deadline: dict[int, date | None] = field(default_factory=dict)  # assignment -> deadline as of the cut-off
    raw_at: dict[date, list[Any]] = field(default_factory=dict)  # the main query's rows at the end of a past day
    carried: dict[int, Effective] = field(default_factory=dict)  # continuous: last year's target's effective value
    scores: dict[tuple[int, str], list[Decimal]] = field(default_factory=lambda: defaultdict(list))
    survey: dict[int, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    items: dict[int, list[ItemRow]] = field(default_factory=lambda: defaultdict(list))
    groups: dict[int, tuple[str, str]] = field(default_factory=dict)
    # Issue #15 (services/scoring/context.py): units named in a published criticism notice of the year, and
    # each leading group's head (code, name).
    criticised: set[int] = field(default_factory=set)
    heads: dict[int, tuple[str, str]] = field(default_factory=dict)


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while tens of thousands of rows and lines are built (nothing
    built here forms cycles; reference counting frees it). Only around code that does not await."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _plain(column: Any, dialect: str) -> Any:
    """A decimal column read without its TypeDecorator: SQLite hands back the canonical text (made a
    Decimal in ``_decimal``), asyncpg a Decimal already. Same values, a fraction of the cost."""
    return type_coerce(column, String() if dialect == "sqlite" else Numeric(20, 4, asdecimal=True))


def _decimal(value: Any) -> Decimal | None:
    return value if value is None or isinstance(value, Decimal) else Decimal(value)


def assignments_query(year: int, until: datetime, year_start: datetime, dialect: str = "postgresql") -> Any:
    """Every assignment of the round with the inputs of services/progress/effective.py's rule at ``until``.

    The counted report: the highest report id confirmed by ``until`` (zero-base targets: from ``year_start``).
    The latest counting inspection: verified value, visited by ``until`` (zero-base: in the year), not held for
    an admin's confirmation (or confirmed by ``until``), latest by visit time, then id. The latest accepted
    evidence: a report whose review was accepted by ``until`` (zero-base: a report of the year), latest by
    acceptance time, then id. ``prepare`` applies ``effective_of`` to them. Two forms of the same query, each
    the faster on its database (correlated subqueries on SQLite, hash aggregates on PostgreSQL); the tests run
    both and check them against progress.standings (tests/progress/test_effective.py)."""
    if dialect == "sqlite":
        return _correlated(year, until, year_start)
    return _aggregated(year, until, year_start)


def _columns(report: Any, visit: Any, accepted: Any, dialect: str) -> list[Any]:
    return [Assignment.id, Assignment.unit_id, Assignment.target_id, _plain(Assignment.baseline_value, dialect),
            _plain(Assignment.planned_value, dialect), _plain(Assignment.weight, dialect),
            _plain(report.value, dialect), report.confirmed_at, _plain(visit.verified_value, dialect),
            visit.visited_at, _plain(accepted.value, dialect), accepted.reviewed_at,
            func.coalesce(Assignment.deadline, Target.deadline), Assignment.milestones]


def _counting(visit: Any, until: datetime) -> Any:
    """An inspection whose verified value counts by ``until`` (not held, or confirmed by then)."""
    return and_(col(visit.verified_value).is_not(None), visit.visited_at <= until,
                or_(col(visit.confirmation).is_(None),
                    and_(visit.confirmation == "confirmed", visit.confirmed_at <= until)))


def _correlated(year: int, until: datetime, year_start: datetime) -> Any:
    report, visit, acc = aliased(ProgressReport), aliased(Inspection), aliased(ProgressReport)
    counted, visited, accepted = aliased(ProgressReport), aliased(Inspection), aliased(ProgressReport)
    latest = (
        select(func.max(report.id))
        .where(report.assignment_id == Assignment.id, report.confirmed_at <= until,
               or_(Target.mode != "zero_base", report.confirmed_at >= year_start))
        .correlate(Assignment, Target)
        .scalar_subquery()
    )
    last_visit = (
        select(visit.id)
        .where(visit.assignment_id == Assignment.id, _counting(visit, until),
               or_(Target.mode != "zero_base", visit.visited_at >= year_start))
        .order_by(col(visit.visited_at).desc(), col(visit.id).desc())
        .limit(1)
        .correlate(Assignment, Target)
        .scalar_subquery()
    )
    last_accepted = (
        select(acc.id)
        .where(acc.assignment_id == Assignment.id, acc.review == "accepted", acc.reviewed_at <= until,
               or_(Target.mode != "zero_base", acc.confirmed_at >= year_start))
        .order_by(col(acc.reviewed_at).desc(), col(acc.id).desc())
        .limit(1)
        .correlate(Assignment, Target)
        .scalar_subquery()
    )
    return (
        select(*_columns(counted, visited, accepted, "sqlite"))
        .join(Target, col(Target.id) == col(Assignment.target_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .outerjoin(counted, col(counted.id) == latest)
        .outerjoin(visited, col(visited.id) == last_visit)
        .outerjoin(accepted, col(accepted.id) == last_accepted)
        .where(Target.year == year, col(Unit.active).is_(True))
    )


def _aggregated(year: int, until: datetime, year_start: datetime) -> Any:
    of_year = select(Assignment.id).join(Target, col(Target.id) == col(Assignment.target_id)).where(Target.year == year)
    zero_base = select(Assignment.id).join(Target, col(Target.id) == col(Assignment.target_id)).where(
        Target.year == year, Target.mode == "zero_base")
    report = ProgressReport
    latest = (
        select(col(report.assignment_id).label("aid"), func.max(report.id).label("all_time"),
               func.max(report.id).filter(report.confirmed_at >= year_start).label("this_year"))
        .where(report.confirmed_at <= until, col(report.assignment_id).in_(of_year))
        .group_by(col(report.assignment_id))
        .subquery("latest")
    )
    visit_ids = (
        select(col(Inspection.id).label("id"), col(Inspection.assignment_id).label("aid"))
        .where(_counting(Inspection, until), col(Inspection.assignment_id).in_(of_year),
               or_(col(Inspection.assignment_id).not_in(zero_base), Inspection.visited_at >= year_start))
        .ext(distinct_on(col(Inspection.assignment_id)))
        .order_by(col(Inspection.assignment_id), col(Inspection.visited_at).desc(), col(Inspection.id).desc())
        .subquery("visit_ids")
    )
    acc = aliased(ProgressReport)
    accepted_ids = (
        select(col(acc.id).label("id"), col(acc.assignment_id).label("aid"))
        .where(acc.review == "accepted", acc.reviewed_at <= until, col(acc.assignment_id).in_(of_year),
               or_(col(acc.assignment_id).not_in(zero_base), acc.confirmed_at >= year_start))
        .ext(distinct_on(col(acc.assignment_id)))
        .order_by(col(acc.assignment_id), col(acc.reviewed_at).desc(), col(acc.id).desc())
        .subquery("accepted_ids")
    )
    visited, accepted = aliased(Inspection), aliased(ProgressReport)
    counted = case((Target.mode == "zero_base", latest.c.this_year), else_=latest.c.all_time)
    return (
        select(*_columns(report, visited, accepted, "postgresql"))
        .join(Target, col(Target.id) == col(Assignment.target_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .outerjoin(latest, latest.c.aid == col(Assignment.id))
        .outerjoin(report, col(report.id) == counted)
        .outerjoin(visit_ids, visit_ids.c.aid == col(Assignment.id))
        .outerjoin(visited, col(visited.id) == visit_ids.c.id)
        .outerjoin(accepted_ids, accepted_ids.c.aid == col(Assignment.id))
        .outerjoin(accepted, col(accepted.id) == accepted_ids.c.id)
        .where(Target.year == year, col(Unit.active).is_(True))
    )


async def rows_of(conn: Any, query: Any) -> list[Any]:
    """Every row of ``query``, fetched and processed ``PARTITION`` at a time so that the event loop runs
    between them (a server-side cursor on PostgreSQL)."""
    result = await conn.stream(query)
    rows: list[Any] = []
    async for part in result.partitions(PARTITION):
        rows += part
    return rows


def _effective(row: Any, direction: str, carried: dict[int, Effective]) -> Effective:
    """services/progress/effective.py's rule on one row of the main query (with what a continuous target carries)."""
    dec = _decimal
    visit = Verification(dec(row[8]), row[9], "inspection") if row[8] is not None else None  # type: ignore[arg-type]
    acc = Verification(dec(row[10]), row[11], "evidence") if row[10] is not None else None  # type: ignore[arg-type]
    return with_carried(effective_of(direction, dec(row[6]), row[7], visit, acc), carried.get(row[0]))


def prepare(data: ScoringData) -> ScoringData:
    """The main query's rows as ``AssignmentRow`` values (exact decimals, the effective value at the cut-off and,
    for a deadline before it, at the deadline; each milestone's when weighed), each plan and deadline as they
    stood on the cut-off day. Pure CPU, no I/O: formula.calculate runs it in a worker thread."""
    dec, undo, targets, carried = _decimal, data.undo, data.targets, data.carried
    at_days = {day: {r[0]: r for r in rows} for day, rows in data.raw_at.items()}
    with paused_gc():
        rows = []
        for r in data.raw:
            direction = targets[r[2]].direction
            deadline = _deadline_of(r, data.undo_deadline, targets)
            then = at_days.get(deadline, {}).get(r[0]) if deadline is not None else None
            marks = tuple((day, pct, _effective(at_days[day][r[0]], direction, carried))
                          for day, pct in parse_milestones(r[13]) if day in at_days and r[0] in at_days[day]
                          ) if at_days and r[13] else ()
            rows.append(AssignmentRow(r[0], r[1], r[2], dec(r[3]), dec(r[4]), dec(r[5]),  # type: ignore[arg-type]
                                      _effective(r, direction, carried), deadline,
                                      _effective(then, direction, carried) if then is not None else None, marks))
    data.assignments = [a._replace(planned=undo[a.id]) if a.id in undo else a for a in rows] if undo else rows
    data.raw, data.raw_at = [], {}
    return data


def _deadline_of(row: Any, undo_deadline: dict[int, date | None], targets: dict[int, TargetRow]) -> date | None:
    """The assignment's deadline as it stood on the cut-off day (its own, else its target's)."""
    deadline = undo_deadline[row[0]] if row[0] in undo_deadline else row[12]
    if deadline is None:
        deadline = targets[row[2]].deadline
    return date.fromisoformat(deadline) if isinstance(deadline, str) else deadline


def _past_days(raw: list[Any], undo_deadline: dict[int, date | None], targets: dict[int, TargetRow],
               cutoff: date, milestones: bool) -> set[date]:
    """The days before the cut-off the score needs the effective value at: deadlines, and milestones when weighed."""
    days: set[date] = set()
    for r in raw:
        deadline = _deadline_of(r, undo_deadline, targets)
        if deadline is not None and deadline < cutoff:
            days.add(deadline)
        if milestones:
            days.update(day for day, _ in parse_milestones(r[13]) if day < cutoff)
    return days


async def load(
    session: AsyncSession, year: int, cutoff: date, tz: ZoneInfo, *, milestones: bool = False
) -> ScoringData:
    """Read what a year's score needs; ``prepare`` finishes the assignments (see the module docstring). The main
    query runs again at the end of each past deadline (and, with ``milestones``, each past milestone day): a
    county has a handful of them."""
    until = end_of_day(cutoff, tz)
    year_start = datetime(year, 1, 1, tzinfo=tz)
    conn = await session.connection()
    data = ScoringData(year=year, tz=tz)

    data.raw = await rows_of(conn, assignments_query(year, until, year_start, conn.dialect.name))
    if not data.raw:
        return data
    unit_ids = {r[1] for r in data.raw}
    for row in await rows_of(conn, select(Unit.id, Unit.code, Unit.name, Unit.unit_class).where(
            col(Unit.active).is_(True))):
        if row[0] in unit_ids:
            data.units[row[0]] = UnitRow(row[0], row[1], row[2], row[3] or "")
    for row in (await conn.execute(
        select(Target.id, Target.code, Target.title, Target.measure, Target.mode, Target.direction,
               Target.leading_group_id, Target.category, Target.deadline).where(Target.year == year)
    )).all():
        data.targets[row[0]] = TargetRow(row[0], row[1], row[2], row[3], str(row[4]), str(row[5]), row[6],
                                         str(row[7]), row[8])

    # Plan as of the cut-off: approved adjustments applying from a later day are undone, newest
    # first, so the old value of the earliest such adjustment is what stood (progress.plan_as_of).
    for aid, name, old in (await conn.execute(
        select(TargetAdjustment.assignment_id, TargetAdjustment.field_name, TargetAdjustment.old_value)
        .join(Assignment, col(Assignment.id) == col(TargetAdjustment.assignment_id))
        .join(Target, col(Target.id) == col(Assignment.target_id))
        .where(Target.year == year, TargetAdjustment.status == "approved",
               col(TargetAdjustment.effective_from) > cutoff)
        .order_by(col(TargetAdjustment.id).desc())
    )).all():
        if name == "planned_value":
            data.undo[aid] = Decimal(old)
        elif name == "deadline":  # "" was the target's own deadline
            data.undo_deadline[aid] = date.fromisoformat(old) if old else None
    found = {t.id: t for t in (await session.exec(
        orm_select(Target).where(Target.year == year, col(Target.continues_id).is_not(None)))).all()}
    if found:  # a few targets: their assignments' predecessors read with the same rule as every view
        rows = {r[0]: r[2] for r in data.raw if r[2] in found}
        data.carried = await carried_from(session, {aid: found[tid] for aid, tid in rows.items()}, until, tz)
    for day in sorted(_past_days(data.raw, data.undo_deadline, data.targets, cutoff, milestones)):
        data.raw_at[day] = await rows_of(conn, assignments_query(year, end_of_day(day, tz), year_start,
                                                                 conn.dialect.name))

    for uid, kind, score in await rows_of(conn, (
        select(PeerScore.unit_id, PeerScore.kind, PeerScore.score)
        .where(PeerScore.year == year, col(PeerScore.score).is_not(None))
    )):
        if uid in data.units:
            data.scores[(uid, kind)].append(score)

    for uid, answer, count in (await conn.execute(
        select(SurveyResponse.unit_id, SurveyResponse.answer, func.count())
        .where(SurveyResponse.year == year, SurveyResponse.excluded == "")  # not the refused (issue #15)
        .group_by(col(SurveyResponse.unit_id), col(SurveyResponse.answer))
    )).all():
        data.survey[uid][answer] = int(count)

    for row in (await conn.execute(
        select(AssessmentItem.id, AssessmentItem.unit_id, AssessmentItem.kind, AssessmentItem.points,
               AssessmentItem.reason, AssessmentItem.evidence)
        .where(AssessmentItem.year == year, col(AssessmentItem.revoked_at).is_(None))
        .order_by(col(AssessmentItem.id))
    )).all():
        data.items[row[1]].append(ItemRow(*row))

    group_ids = {t.leading_group_id for t in data.targets.values() if t.leading_group_id is not None}
    if group_ids:
        for gid, code, name in (await conn.execute(
            select(LeadingGroup.id, LeadingGroup.code, LeadingGroup.name).where(col(LeadingGroup.id).in_(group_ids))
        )).all():
            data.groups[gid] = (code, name)
    await load_context(conn, year, data)
    return data

