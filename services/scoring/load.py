"""The data a year's score needs, read set-based: a fixed handful of queries whatever the county's
size. The main query (services/scoring/query.py) gives every assignment of the round with the inputs of the
effective-value rule at the cut-off, and once more at the end of each past deadline (and weighed milestone day)
for the assignments due that day only; the others read the units, targets, later plan adjustments, peer and
inspection scores, survey counts, items and leading groups. Rows are read through SQLAlchemy Core (no ORM
objects, no TypeDecorator): this is the hot path of the ranking benchmark. The formula is in
services/scoring/formula.py.

The reads run on the event loop, every other county of the process beside them, so the big ones come
in partitions (``PARTITION`` rows, the loop runs between them) and the rows of the main query are kept
as read: the worker thread that computes the scores (formula.calculate) turns them into exact decimals
(``value_at``: the effective value alone, for the ranking) and, only when a unit's lines are read, into
``AssignmentRow`` values with the full ``Effective`` (``effective_at``, services/scoring/lines.py)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import col
from sqlmodel import select as orm_select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.assessment import AssessmentItem, PeerScore, SurveyResponse
from models.plan import Assignment, LeadingGroup, Target, Unit
from models.progress import TargetAdjustment
from services.progress.effective import (
    Effective,
    Verification,
    carried_from,
    effective_of,
    effective_value,
    with_carried,
)
from services.progress.pace import parse_milestones
from services.progress.standings import end_of_day
from services.scoring.context import load_context
from services.scoring.query import assignments_query, parameters, plain


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
    raw: list[Any] = field(default_factory=list)  # the main query's rows, as read
    undo: dict[int, Decimal] = field(default_factory=dict)  # assignment -> planned value as of the cut-off
    undo_deadline: dict[int, date | None] = field(default_factory=dict)  # assignment -> deadline as of the cut-off
    raw_at: dict[date, dict[int, Any]] = field(default_factory=dict)  # day -> assignment -> its row at the day's end
    carried: dict[int, Effective] = field(default_factory=dict)  # continuous: last year's target's effective value
    scores: dict[tuple[int, str], list[Decimal]] = field(default_factory=lambda: defaultdict(list))
    survey: dict[int, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    items: dict[int, list[ItemRow]] = field(default_factory=lambda: defaultdict(list))
    groups: dict[int, tuple[str, str]] = field(default_factory=dict)
    # Issue #15 (services/scoring/context.py): units named in a published criticism notice of the year, and
    # each leading group's head (code, name).
    criticised: set[int] = field(default_factory=set)
    heads: dict[int, tuple[str, str]] = field(default_factory=dict)


def decimal_of(value: Any) -> Decimal | None:
    """A decimal as the main query reads it (SQLite: its canonical text; PostgreSQL: a Decimal)."""
    return value if value is None or isinstance(value, Decimal) else Decimal(value)


class Decimals(dict):
    """``decimal_of`` with a memory: ``numbers[text]`` is a dict lookup for the many repeated values of a read
    (weights, baselines, plans, None), each text converted once. Decimals (PostgreSQL) pass as read, never kept:
    equal Decimals may differ in exponent."""

    def __init__(self) -> None:
        super().__init__({None: None})

    def __missing__(self, key: Any) -> Decimal | None:
        if isinstance(key, Decimal):
            return key
        value = self[key] = Decimal(key)
        return value


def moment_of(value: Any) -> datetime | None:
    """A moment as the main query reads it, as models.types.UTCDateTime would hand it back (aware, UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)



async def rows_of(conn: Any, query: Any, params: dict[str, Any] | None = None) -> list[Any]:
    """Every row of ``query``, fetched and processed ``PARTITION`` at a time so that the event loop runs
    between them (a server-side cursor on PostgreSQL)."""
    result = await conn.stream(query, params)
    rows: list[Any] = []
    async for part in result.partitions(PARTITION):
        rows += part
    return rows


def value_at(row: Any, direction: str, carried: Effective | None, numbers: Decimals) -> Decimal | None:
    """The effective value of one row of the main query (services/progress/effective.py's ``effective_value``;
    the verifications' moments are read only when both exist)."""
    visit, acc = row[8], row[10]
    both = visit is not None and acc is not None
    return effective_value(direction, numbers[row[6]], numbers[visit], moment_of(row[9]) if both else None,
                           numbers[acc], moment_of(row[11]) if both else None,
                           carried.value if carried is not None else None)


def effective_at(row: Any, direction: str, carried: Effective | None) -> Effective:
    """services/progress/effective.py's rule on one row of the main query, in full (for the lines)."""
    dec, moment = decimal_of, moment_of
    visit = Verification(dec(row[8]), moment(row[9]), "inspection") if row[8] is not None else None  # type: ignore[arg-type]
    acc = Verification(dec(row[10]), moment(row[11]), "evidence") if row[10] is not None else None  # type: ignore[arg-type]
    return with_carried(effective_of(direction, dec(row[6]), moment(row[7]), visit, acc), carried)


def _day(value: date | str) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def deadline_of(row: Any, undo_deadline: dict[int, date | None], targets: dict[int, TargetRow]) -> date | None:
    """The assignment's deadline as it stood on the cut-off day (its own, else its target's)."""
    deadline = undo_deadline[row[0]] if row[0] in undo_deadline else row[12]
    if deadline is None:
        deadline = targets[row[2]].deadline
    return None if deadline is None else _day(deadline)


def past_days(raw: list[Any], undo_deadline: dict[int, date | None], targets: dict[int, TargetRow],
              cutoff: date, milestones: bool) -> dict[date, set[int]]:
    """The days before the cut-off the score needs effective values at, each with the assignments that need it:
    those whose deadline it is, and, when milestones are weighed, those with a milestone on it."""
    days: dict[date, set[int]] = defaultdict(set)
    if not milestones and not undo_deadline and all(  # the usual case, told from the few distinct deadlines
            _day(d) >= cutoff for d in {r[12] for r in raw} | {t.deadline for t in targets.values()} if d is not None):
        return days
    for r in raw:
        deadline = deadline_of(r, undo_deadline, targets)
        if deadline is not None and deadline < cutoff:
            days[deadline].add(r[0])
        if milestones and r[13]:
            for day, _ in parse_milestones(r[13]):
                if day < cutoff:
                    days[day].add(r[0])
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

    data.raw = await rows_of(conn, assignments_query(conn.dialect.name), parameters(year, until, year_start))
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
    needs = past_days(data.raw, data.undo_deadline, data.targets, cutoff, milestones)
    for day in sorted(needs):  # one query per past day, for the assignments that need it only
        at_day = parameters(year, end_of_day(day, tz), year_start, needs[day])
        data.raw_at[day] = {r[0]: r for r in await rows_of(conn, assignments_query(conn.dialect.name, True), at_day)}

    for uid, kind, score in await rows_of(conn, (
        select(PeerScore.unit_id, PeerScore.kind, plain(PeerScore.score, conn.dialect.name))
        .where(PeerScore.year == year, col(PeerScore.score).is_not(None))
    )):
        if uid in data.units:
            data.scores[(uid, kind)].append(decimal_of(score))

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

