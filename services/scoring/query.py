"""The score's main query (services/scoring/load.py runs it): every assignment of the round with the inputs of
services/progress/effective.py's rule at a moment, one row each, raw (no ORM objects, no TypeDecorator).

Columns, by position: 0 assignment id, 1 unit id, 2 target id, 3 baseline, 4 planned, 5 weight, 6 the counted
report's value, 7 its confirmation time, 8 the latest counting inspection's verified value, 9 its visit time,
10 the latest accepted evidence's value, 11 its acceptance time, 12 the deadline (the assignment's, else the
target's), 13 the milestones. Decimals come as text (``load.Decimals``), moments as SQLite's text of the UTC
moment or as aware datetimes (``load.moment_of``).

The indexes it relies on are in models/migrations/versions/0014_ranking_indexes.py: the counted report is read
from ``ix_progress_assignment_value`` alone (assignment, id, confirmation time, value: no table row visited),
the latest inspection from ``ix_inspections_assignment_visit``, the latest accepted evidence from the partial
``ix_progress_accepted`` (only accepted reports). The acceptance test is written as a literal
(``review = 'accepted'``) so that the planners can use that partial index.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import DateTime, String, and_, bindparam, cast, func, literal_column, or_, select, true, type_coerce
from sqlalchemy.orm import aliased
from sqlmodel import col

from models.inspection import Inspection
from models.plan import Assignment, Target, Unit
from models.progress import ProgressReport

ACCEPTED = literal_column("'accepted'")  # a literal, not a parameter: the partial index's condition


def plain(column: Any, dialect: str) -> Any:
    """A decimal column read as text, without its TypeDecorator: SQLite's canonical text, PostgreSQL's numeric
    as text (its digits and scale, as asyncpg would make them a Decimal). The same Decimals once converted
    (``load.Decimals``: each distinct text once), a fraction of the cost."""
    return type_coerce(column, String()) if dialect == "sqlite" else cast(column, String())


def raw_moment(column: Any, dialect: str) -> Any:
    """A UTC moment read without its TypeDecorator (SQLite: its text; PostgreSQL: an aware datetime)."""
    return type_coerce(column, String() if dialect == "sqlite" else DateTime(timezone=True))


def assignments_query(dialect: str = "postgresql", only: bool = False) -> Any:
    """Every assignment of the round (``only``: of the ids given) with the inputs of the effective-value rule at
    a moment; its parameters come from ``parameters``. Built once per form (it is the same statement every time).

    The counted report: the highest report id confirmed by ``until`` (zero-base targets: from ``year_start``).
    The latest counting inspection: verified value, visited by ``until`` (zero-base: in the year), not held for
    an admin's confirmation (or confirmed by ``until``), latest by visit time, then id. The latest accepted
    evidence: a report whose review was accepted by ``until`` (zero-base: a report of the year), latest by
    acceptance time, then id. Two forms of the same query, each the faster on its database (correlated
    subqueries on SQLite, lateral joins on PostgreSQL: each lookup one short index scan); the tests run both
    and check them against progress.standings (tests/progress/test_effective.py)."""
    return _statement("sqlite" if dialect == "sqlite" else "postgresql", only)


def parameters(year: int, until: datetime, year_start: datetime, only: Collection[int] | None = None
               ) -> dict[str, Any]:
    """The parameters of ``assignments_query`` for the round of ``year`` at ``until`` (``only``: these ids)."""
    params: dict[str, Any] = {"year": year, "until": until, "year_start": year_start}
    if only is not None:
        params["only"] = sorted(only)
    return params


@cache
def _statement(dialect: str, only: bool) -> Any:
    year, until, year_start = bindparam("year"), bindparam("until"), bindparam("year_start")
    ids = bindparam("only", expanding=True, literal_execute=True) if only else None  # inline: no limit on their number
    query = _correlated(year, until, year_start) if dialect == "sqlite" else _lateral(year, until, year_start)
    # "+ 0": a filter on the rows read, not an index probe (SQLite would otherwise probe every id for every target)
    return query.where((col(Assignment.id) + 0).in_(ids)) if ids is not None else query


def _columns(value: Any, confirmed: Any, visit: Any, accepted: Any, dialect: str) -> list[Any]:
    return [Assignment.id, Assignment.unit_id, Assignment.target_id, plain(Assignment.baseline_value, dialect),
            plain(Assignment.planned_value, dialect), plain(Assignment.weight, dialect),
            value, confirmed, plain(visit.verified_value, dialect), raw_moment(visit.visited_at, dialect),
            plain(accepted.value, dialect), raw_moment(accepted.reviewed_at, dialect),
            func.coalesce(Assignment.deadline, Target.deadline), Assignment.milestones]


def _counting(visit: Any, until: Any) -> Any:
    """An inspection whose verified value counts by ``until`` (not held, or confirmed by then)."""
    return and_(col(visit.verified_value).is_not(None), visit.visited_at <= until,
                or_(col(visit.confirmation).is_(None),
                    and_(visit.confirmation == "confirmed", visit.confirmed_at <= until)))


def _correlated(year: Any, until: Any, year_start: Any) -> Any:
    visit, acc = aliased(Inspection), aliased(ProgressReport)
    visited, accepted = aliased(Inspection), aliased(ProgressReport)

    def counted(column: Any) -> Any:
        """A column of the counted report (the highest id confirmed by ``until``), from the covering index."""
        report = aliased(ProgressReport)
        return (
            select(column(report))
            .where(report.assignment_id == Assignment.id, report.confirmed_at <= until,
                   or_(Target.mode != "zero_base", report.confirmed_at >= year_start))
            .order_by(col(report.id).desc())
            .limit(1)
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
        .where(acc.assignment_id == Assignment.id, acc.review == ACCEPTED, acc.reviewed_at <= until,
               or_(Target.mode != "zero_base", acc.confirmed_at >= year_start))
        .order_by(col(acc.reviewed_at).desc(), col(acc.id).desc())
        .limit(1)
        .correlate(Assignment, Target)
        .scalar_subquery()
    )
    value = counted(lambda r: plain(r.value, "sqlite"))
    confirmed = counted(lambda r: raw_moment(r.confirmed_at, "sqlite"))
    return (
        select(*_columns(value, confirmed, visited, accepted, "sqlite"))
        .join(Target, col(Target.id) == col(Assignment.target_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .outerjoin(visited, col(visited.id) == last_visit)
        .outerjoin(accepted, col(accepted.id) == last_accepted)
        .where(Target.year == year, col(Unit.active).is_(True))
    )


def _lateral(year: Any, until: Any, year_start: Any) -> Any:
    """PostgreSQL: the same three lookups as lateral joins (an index scan each, backwards, stopping at the
    first row), which the planner cannot turn into hash joins over every report of every year."""
    report, visit, acc = aliased(ProgressReport), aliased(Inspection), aliased(ProgressReport)
    counted = (
        select(plain(report.value, "postgresql").label("value"),
               raw_moment(report.confirmed_at, "postgresql").label("at"))
        .where(report.assignment_id == Assignment.id, report.confirmed_at <= until,
               or_(Target.mode != "zero_base", report.confirmed_at >= year_start))
        .order_by(col(report.id).desc())
        .limit(1)
        .lateral("counted")
    )
    visited = (
        select(visit.verified_value, visit.visited_at)
        .where(visit.assignment_id == Assignment.id, _counting(visit, until),
               or_(Target.mode != "zero_base", visit.visited_at >= year_start))
        .order_by(col(visit.visited_at).desc(), col(visit.id).desc())
        .limit(1)
        .lateral("visited")
    )
    accepted = (
        select(acc.value, acc.reviewed_at)
        .where(acc.assignment_id == Assignment.id, acc.review == ACCEPTED, acc.reviewed_at <= until,
               or_(Target.mode != "zero_base", acc.confirmed_at >= year_start))
        .order_by(col(acc.reviewed_at).desc(), col(acc.id).desc())
        .limit(1)
        .lateral("accepted")
    )
    return (
        select(*_columns(counted.c.value, counted.c.at, visited.c, accepted.c, "postgresql"))
        .join(Target, col(Target.id) == col(Assignment.target_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .outerjoin(counted, true())
        .outerjoin(visited, true())
        .outerjoin(accepted, true())
        .where(Target.year == year, col(Unit.active).is_(True))
    )
