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

from sqlalchemy import Numeric, String, case, func, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import aliased
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.assessment import AssessmentItem, PeerScore, SurveyResponse
from models.inspection import Inspection
from models.plan import Assignment, LeadingGroup, Target, Unit
from models.progress import ProgressReport, TargetAdjustment
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


class AssignmentRow(NamedTuple):
    id: int
    unit_id: int
    target_id: int
    baseline: Decimal
    planned: Decimal
    weight: Decimal
    claimed: Decimal | None  # the latest report counted
    verified: Decimal | None  # the latest inspection after that report that verified a value


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
    units: dict[int, UnitRow] = field(default_factory=dict)
    targets: dict[int, TargetRow] = field(default_factory=dict)
    assignments: list[AssignmentRow] = field(default_factory=list)  # filled by ``prepare``
    raw: list[Any] = field(default_factory=list)  # the main query's rows, as read
    undo: dict[int, Decimal] = field(default_factory=dict)  # assignment -> planned value as of the cut-off
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
    """Every assignment of the round with its claimed value and the later verified value.

    Claimed: the value of the highest report id confirmed by ``until`` (zero-base targets: from
    ``year_start``). Verified: the verified value of the latest inspection (by visit time, then id)
    visited by ``until``, if it was visited after that report's confirmation — services/progress's
    rule (the latest inspection after the report is the latest one overall whenever there is one).
    Two forms of the same query, each the faster on its database (correlated subqueries on SQLite,
    hash aggregates on PostgreSQL); the tests run on both."""
    if dialect == "sqlite":
        return _correlated(year, until, year_start)
    return _aggregated(year, until, year_start)


def _columns(report: Any, verified: Any, dialect: str) -> list[Any]:
    return [Assignment.id, Assignment.unit_id, Assignment.target_id, _plain(Assignment.baseline_value, dialect),
            _plain(Assignment.planned_value, dialect), _plain(Assignment.weight, dialect),
            _plain(report.value, dialect), _plain(verified, dialect)]


def _correlated(year: int, until: datetime, year_start: datetime) -> Any:
    report, visit = aliased(ProgressReport), aliased(Inspection)
    latest = (
        select(func.max(report.id))
        .where(report.assignment_id == Assignment.id, report.confirmed_at <= until,
               or_(Target.mode != "zero_base", report.confirmed_at >= year_start))
        .correlate(Assignment, Target)
        .scalar_subquery()
    )
    verified = (
        select(visit.verified_value)
        .where(visit.assignment_id == Assignment.id, col(visit.verified_value).is_not(None),
               visit.visited_at <= until, visit.visited_at > ProgressReport.confirmed_at)
        .order_by(col(visit.visited_at).desc(), col(visit.id).desc())
        .limit(1)
        .correlate(Assignment, ProgressReport)
        .scalar_subquery()
    )
    return (
        select(*_columns(ProgressReport, verified, "sqlite"))
        .join(Target, col(Target.id) == col(Assignment.target_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .outerjoin(ProgressReport, col(ProgressReport.id) == latest)
        .where(Target.year == year, col(Unit.active).is_(True))
    )


def _aggregated(year: int, until: datetime, year_start: datetime) -> Any:
    of_year = select(Assignment.id).join(Target, col(Target.id) == col(Assignment.target_id)).where(Target.year == year)
    report = ProgressReport
    latest = (
        select(col(report.assignment_id).label("aid"), func.max(report.id).label("all_time"),
               func.max(report.id).filter(report.confirmed_at >= year_start).label("this_year"))
        .where(report.confirmed_at <= until, col(report.assignment_id).in_(of_year))
        .group_by(col(report.assignment_id))
        .subquery("latest")
    )
    visit = (
        select(col(Inspection.assignment_id).label("aid"), col(Inspection.verified_value).label("value"),
               col(Inspection.visited_at).label("at"))
        .where(col(Inspection.verified_value).is_not(None), Inspection.visited_at <= until,
               col(Inspection.assignment_id).in_(of_year))
        .ext(distinct_on(col(Inspection.assignment_id)))
        .order_by(col(Inspection.assignment_id), col(Inspection.visited_at).desc(), col(Inspection.id).desc())
        .subquery("visit")
    )
    counted = case((Target.mode == "zero_base", latest.c.this_year), else_=latest.c.all_time)
    verified = case((visit.c.at > report.confirmed_at, visit.c.value))
    return (
        select(*_columns(report, verified, "postgresql"))
        .join(Target, col(Target.id) == col(Assignment.target_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .outerjoin(latest, latest.c.aid == col(Assignment.id))
        .outerjoin(report, col(report.id) == counted)
        .outerjoin(visit, visit.c.aid == col(Assignment.id))
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


def prepare(data: ScoringData) -> ScoringData:
    """The main query's rows as ``AssignmentRow`` values (exact decimals), each plan as it stood on the
    cut-off day. Pure CPU, no I/O: formula.calculate runs it in a worker thread."""
    dec, undo = _decimal, data.undo
    with paused_gc():
        rows = [AssignmentRow(r[0], r[1], r[2], dec(r[3]), dec(r[4]), dec(r[5]), dec(r[6]), dec(r[7]))
                for r in data.raw]
    data.assignments = [a._replace(planned=undo[a.id]) if a.id in undo else a for a in rows] if undo else rows
    data.raw = []
    return data


async def load(session: AsyncSession, year: int, cutoff: date, tz: ZoneInfo) -> ScoringData:
    """Read what a year's score needs; ``prepare`` finishes the assignments (see the module docstring)."""
    until = end_of_day(cutoff, tz)
    year_start = datetime(year, 1, 1, tzinfo=tz)
    conn = await session.connection()
    data = ScoringData()

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
               Target.leading_group_id, Target.category).where(Target.year == year)
    )).all():
        data.targets[row[0]] = TargetRow(row[0], row[1], row[2], row[3], str(row[4]), str(row[5]), row[6],
                                         str(row[7]))

    # Plan as of the cut-off: approved adjustments applying from a later day are undone, newest
    # first, so the old value of the earliest such adjustment is what stood (progress.plan_as_of).
    for aid, old in (await conn.execute(
        select(TargetAdjustment.assignment_id, TargetAdjustment.old_value)
        .join(Assignment, col(Assignment.id) == col(TargetAdjustment.assignment_id))
        .join(Target, col(Target.id) == col(Assignment.target_id))
        .where(Target.year == year, TargetAdjustment.status == "approved",
               TargetAdjustment.field_name == "planned_value", col(TargetAdjustment.effective_from) > cutoff)
        .order_by(col(TargetAdjustment.id).desc())
    )).all():
        data.undo[aid] = Decimal(old)

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

