"""The inputs of ``standings`` read column-wise: a fixed handful of set-based queries whatever the selection's
size (one assignment for /mytargets, the whole county of 20,000 for the dashboard), rows through SQLAlchemy
Core with only the columns needed (no ORM objects, no decimal or timestamp TypeDecorator on the many rows).

* ``assignments``: every selected assignment with its latest report (the highest id confirmed by ``until``,
  whatever the target's mode) and that report's reporter's name; ordered by assignment id;
* ``targets`` and ``units`` of the selection (a few hundred rows at most);
* ``counted_this_year``: for zero-base targets, the latest report of the year when the latest is older (rare);
* ``visits`` and ``acceptances``: the counting inspections and the accepted evidence, in the order
  services/progress/effective.py's ``read_effective`` reads them (the last one per assignment stands);
* ``held`` (visits waiting for an admin's confirmation) and ``later_adjustments`` (plan changes to undo).

What they mean is services/progress/effective.py's rule (``effective_of``, applied in standings.py) and
``plan_as_of``'s: this module only reads. Big reads come in partitions of ``PARTITION`` rows, so that a
reader on the bot's event loop lets it run between them, and a reader in a worker thread lets go of the
GIL between them (``pause``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric, String, and_, func, or_, select, true, type_coerce
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased
from sqlmodel import col

from models.inspection import Inspection
from models.people import Person
from models.plan import Assignment, Target, Unit
from models.progress import ProgressReport, TargetAdjustment
from models.types import DecimalValue

PARTITION = 2000  # rows fetched and converted at a time
BREATHE = 0.001  # seconds a worker thread sleeps between partitions (lets the event loop's thread take the GIL)


def selection(unit_ids: list[int] | None, assignment_ids: list[int] | None) -> Any:
    """The selected assignments' ids as a subquery (None: every assignment), so that no query carries a list of
    thousands of ids."""
    if unit_ids is None and assignment_ids is None:
        return None
    query = select(Assignment.id)
    if unit_ids is not None:
        query = query.where(col(Assignment.unit_id).in_(unit_ids))
    if assignment_ids is not None:
        query = query.where(col(Assignment.id).in_(assignment_ids))
    return query


def _within(column: Any, chosen: Any) -> Any:
    return true() if chosen is None else col(column).in_(chosen)


def plain(column: Any, dialect: str) -> Any:
    """A decimal or timestamp column read without its TypeDecorator: SQLite hands back text (see ``decimal``
    and ``utc``), asyncpg a Decimal or an aware datetime already."""
    if dialect == "sqlite":
        return type_coerce(column, String())
    if isinstance(column.type, DecimalValue):
        return type_coerce(column, Numeric(20, 4, asdecimal=True))
    return type_coerce(column, DateTime(timezone=True))


def decimal(value: Any) -> Decimal | None:
    """What models.types.DecimalValue would have handed back."""
    return value if value is None or isinstance(value, Decimal) else Decimal(value)


def utc(value: Any) -> datetime | None:
    """What models.types.UTCDateTime would have handed back (an aware datetime in UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if value.tzinfo is UTC:
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def pause(apart: bool) -> None:
    """Between two partitions: on the event loop, give it a turn; in a worker thread (``apart``), let go of the
    GIL for a moment (its own loop waits for nothing that long, outside the GIL), so that the event loop's
    thread, waiting for the GIL, runs."""
    await asyncio.sleep(BREATHE if apart else 0)


async def rows_of(conn: AsyncConnection, query: Any, apart: bool) -> list[Any]:
    """Every row of ``query``, ``PARTITION`` at a time (a server-side cursor on PostgreSQL)."""
    result = await conn.stream(query.execution_options(yield_per=PARTITION))
    rows: list[Any] = []
    async for part in result.partitions(PARTITION):
        if rows:
            await pause(apart)
        rows += part
    return rows


def assignments(chosen: Any, until: datetime, dialect: str) -> Any:
    """Each selected assignment (id order): id, unit, target, baseline, planned, deadline, milestones, and its
    latest report confirmed by ``until``: value, confirmed at, the reporter's name."""
    report = aliased(ProgressReport)
    columns = (Assignment.id, Assignment.unit_id, Assignment.target_id, plain(Assignment.baseline_value, dialect),
               plain(Assignment.planned_value, dialect), Assignment.deadline, Assignment.milestones,
               plain(report.value, dialect), plain(report.confirmed_at, dialect), Person.name)
    if dialect == "sqlite":  # a correlated max per assignment: the faster on SQLite (services/scoring/load.py)
        newest = (select(func.max(ProgressReport.id))
                  .where(ProgressReport.assignment_id == Assignment.id, ProgressReport.confirmed_at <= until)
                  .correlate(Assignment).scalar_subquery())
        query = select(*columns).select_from(Assignment).outerjoin(report, col(report.id) == newest)
    else:  # a hash aggregate on PostgreSQL
        latest = (select(col(ProgressReport.assignment_id).label("aid"), func.max(ProgressReport.id).label("id"))
                  .where(ProgressReport.confirmed_at <= until, _within(ProgressReport.assignment_id, chosen))
                  .group_by(col(ProgressReport.assignment_id)).subquery("latest"))
        query = (select(*columns).select_from(Assignment).outerjoin(latest, latest.c.aid == col(Assignment.id))
                 .outerjoin(report, col(report.id) == latest.c.id))
    return (query.outerjoin(Person, col(Person.id) == col(report.reporter_person_id))
            .where(_within(Assignment.id, chosen)).order_by(col(Assignment.id)))


def targets(chosen: Any) -> Any:
    """The selection's targets: id, code, title, measure, direction, closed, year, report interval, leading
    group, mode, deadline, continues."""
    query = select(Target.id, Target.code, Target.title, Target.measure, Target.direction, Target.closed,
                   Target.year, Target.report_interval_days, Target.leading_group_id, Target.mode, Target.deadline,
                   Target.continues_id)
    return query if chosen is None else query.where(
        col(Target.id).in_(select(Assignment.target_id).where(col(Assignment.id).in_(chosen))))


def units(chosen: Any) -> Any:
    """The selection's units: id, code, name."""
    query = select(Unit.id, Unit.code, Unit.name)
    return query if chosen is None else query.where(
        col(Unit.id).in_(select(Assignment.unit_id).where(col(Assignment.id).in_(chosen))))


def counted_this_year(ids: list[int], since: datetime, until: datetime, dialect: str) -> Any:
    """Zero-base assignments whose latest report is from before ``since`` (Jan 1 of the target's year): the latest
    report of the year instead (value, confirmed at), as read_effective reads it."""
    newest = (select(func.max(ProgressReport.id))
              .where(col(ProgressReport.assignment_id).in_(ids), ProgressReport.confirmed_at >= since,
                     ProgressReport.confirmed_at <= until)
              .group_by(col(ProgressReport.assignment_id)))
    return select(ProgressReport.assignment_id, plain(ProgressReport.value, dialect),
                  plain(ProgressReport.confirmed_at, dialect)).where(col(ProgressReport.id).in_(newest))


def visits(chosen: Any, until: datetime, dialect: str) -> Any:
    """Counting inspections by ``until`` (a verified value, not held or confirmed by then): assignment, verified
    value, visited at; in visit order, so the last one of an assignment stands."""
    return (
        select(Inspection.assignment_id, plain(Inspection.verified_value, dialect), plain(Inspection.visited_at,
                                                                                          dialect))
        .where(_within(Inspection.assignment_id, chosen), col(Inspection.verified_value).is_not(None),
               Inspection.visited_at <= until,
               or_(col(Inspection.confirmation).is_(None),
                   and_(col(Inspection.confirmation) == "confirmed", col(Inspection.confirmed_at) <= until)))
        .order_by(col(Inspection.visited_at), col(Inspection.id))
    )


def acceptances(chosen: Any, until: datetime, dialect: str) -> Any:
    """Evidence the office accepted by ``until``: assignment, the report's value, accepted at, the report's
    confirmed at; in acceptance order, so the last one of an assignment stands."""
    return (
        select(ProgressReport.assignment_id, plain(ProgressReport.value, dialect),
               plain(ProgressReport.reviewed_at, dialect), plain(ProgressReport.confirmed_at, dialect))
        .where(_within(ProgressReport.assignment_id, chosen), ProgressReport.review == "accepted",
               col(ProgressReport.reviewed_at) <= until)
        .order_by(col(ProgressReport.reviewed_at), col(ProgressReport.id))
    )


def held(chosen: Any, until: datetime) -> Any:
    """How many visits of each assignment wait for an admin's confirmation of their verified value."""
    return (select(Inspection.assignment_id, func.count())
            .where(_within(Inspection.assignment_id, chosen), Inspection.confirmation == "pending",
                   Inspection.visited_at <= until)
            .group_by(col(Inspection.assignment_id)))


def later_adjustments(chosen: Any, day: date) -> Any:
    """Approved plan adjustments that apply from after ``day``, newest first: assignment, field, old value."""
    return (select(TargetAdjustment.assignment_id, TargetAdjustment.field_name, TargetAdjustment.old_value)
            .where(_within(TargetAdjustment.assignment_id, chosen), TargetAdjustment.status == "approved",
                   col(TargetAdjustment.effective_from) > day)
            .order_by(col(TargetAdjustment.id).desc()))
