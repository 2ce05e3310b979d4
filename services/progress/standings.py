"""Where each assignment stands: claimed and effective value, expected value and pace, as of a date.

The effective value is services/progress/effective.py's rule (the inspector's finding binds; zero-base
counts only the year's results), pace is services/progress/pace.py's. Everything else (/mytargets, history,
alerts, notices, exports, the dashboard's board of the whole county) calls ``standings``; the year-end score
reads the same rule set-based (services/scoring/load.py).

Its inputs are read column-wise, a fixed handful of set-based queries whatever the selection
(services/progress/standing_rows.py): 20,000 assignments are rows of plain values, not ORM objects, and the
rules then run on them in Python with the cyclic garbage collector paused (the values form no cycles).
"""

from __future__ import annotations

import gc
import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.plan import Assignment, Target
from models.progress import ProgressReport
from services.progress import standing_rows as rows
from services.progress.effective import (
    Effective,
    Verification,
    carried_from,
    effective_of,
    with_carried,
    year_start,
)
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


def undo_later(values: dict[int, tuple[Decimal, date | None]], later: Iterable[tuple[int, str, str]]) -> None:
    """Undo approved adjustments that apply from a later date ((assignment, field, old value), newest first) in
    ``values`` (assignment → planned value, deadline override): what stood before the earliest of them."""
    for aid, field_name, old_value in later:
        planned, deadline = values[aid]
        if field_name == "planned_value":
            planned = Decimal(old_value)
        elif field_name == "deadline":
            deadline = date.fromisoformat(old_value) if old_value else None
        values[aid] = (planned, deadline)


async def plan_as_of(
    session: AsyncSession, assignments: list[Assignment], day: date
) -> dict[int, tuple[Decimal, date | None]]:
    """Planned value and deadline override as they stood on ``day``: approved adjustments that apply
    from a later date are undone."""
    values = {a.id: (a.planned_value, a.deadline) for a in assignments if a.id is not None}
    if not values:
        return {}
    later = (await session.exec(rows.later_adjustments(list(values), day))).all()
    undo_later(values, later)  # type: ignore[arg-type]
    return values


async def standings(
    session: AsyncSession, *, as_of: date, tz: ZoneInfo, unit_ids: list[int] | None = None,
    assignment_ids: list[int] | None = None, apart: bool = False,
) -> list[Standing]:
    """Every selected assignment's standing at the end of ``as_of``, most urgent first (ties in assignment id
    order). Read column-wise (services/progress/standing_rows.py); ``apart``: the caller runs in a worker thread
    (the dashboard's county read), which then lets go of the GIL between partitions of the big reads."""
    until = end_of_day(as_of, tz)
    conn = await session.connection()
    dialect = conn.dialect.name
    chosen = rows.selection(unit_ids, assignment_ids)
    found = await rows.rows_of(conn, rows.assignments(chosen, until, dialect), apart)
    if not found:
        return []
    targets = {r[0]: r for r in (await conn.execute(rows.targets(chosen))).all()}
    units = {r[0]: r for r in (await conn.execute(rows.units(chosen))).all()}
    inputs = await _effective_inputs(session, conn, chosen, found, targets, until, tz, apart)
    held = {aid: int(n) for aid, n in (await conn.execute(rows.held(chosen, until))).all() if aid is not None}
    later = (await conn.execute(rows.later_adjustments(chosen, as_of))).all()
    undone = {aid for aid, _, _ in later}
    plans = {r[0]: (rows.decimal(r[4]), r[5]) for r in found if r[0] in undone}
    undo_later(plans, later)  # type: ignore[arg-type]
    parts: list[list[Standing]] = []
    for start in range(0, len(found), rows.PARTITION):  # the loop (or, apart, the loop's thread) runs between
        if start:
            await rows.pause(apart)
        with paused_gc():
            part = [_standing(r, targets[r[2]], units[r[1]], inputs, plans, held, as_of)
                    for r in found[start:start + rows.PARTITION]]
            part.sort(key=_urgency)
        parts.append(part)
    if len(parts) == 1:
        return parts[0]
    # Sorted a partition at a time, then merged in Python: one sort of 20,000 is tens of milliseconds of C that holds
    # the GIL throughout. Both are stable, and the partitions come in assignment id order: ties stay in id order.
    return list(heapq.merge(*parts, key=_urgency))


class Inputs(NamedTuple):
    counted: dict[int, tuple[Any, datetime | None]]  # the counted report: value (as read), confirmed at
    visits: dict[int, Verification]  # the latest counting visit
    accepted: dict[int, Verification]  # the latest accepted evidence
    carried: dict[int, Effective]  # continuing targets: last year's effective value
    latest: dict[int, datetime | None]  # when the latest report (whatever the mode) was confirmed


def _urgency(s: Standing) -> tuple[int, int, str]:
    return s.urgency


def _standing(r: Any, target: Any, unit: Any, inputs: Inputs, plans: dict, held: dict[int, int],
              as_of: date) -> Standing:
    """One row of ``standing_rows.assignments`` with its target, unit and effective value as a Standing."""
    aid, direction = r[0], target[4]
    e = _effective(aid, direction, inputs)
    planned, deadline_override = plans.get(aid) or (rows.decimal(r[4]), r[5])
    deadline = deadline_override or target[10]
    baseline = rows.decimal(r[3])
    reporter = r[9] if r[8] is not None and inputs.latest[aid] == e.claimed_at else None  # zero-base: not last year's
    plan = PacePlan(year=target[6], baseline=baseline, planned=planned, deadline=deadline,
                    milestones=parse_milestones(r[6]) if r[6] else (), direction=direction)
    verified = e.verified
    return Standing(
        assignment_id=aid, target_code=target[1], title=target[2], measure=target[3], direction=direction,
        closed=target[5], unit_id=unit[0] or 0, unit_code=unit[1], unit_name=unit[2], target_id=target[0] or 0,
        year=target[6], report_interval_days=target[7], leading_group_id=target[8], planned=planned, baseline=baseline,
        deadline=deadline, claimed=e.claimed, effective=e.value, last_report_at=e.claimed_at, last_reporter=reporter,
        pace=pace(plan, e.value, as_of), verified=verified.value if verified else None,
        verified_source=verified.source if verified else None, verified_at=verified.at if verified else None,
        unverified_claim=e.unverified_claim, held_visits=held.get(aid, 0), mode=target[9], carried=e.carried,
    )


async def _effective_inputs(session: AsyncSession, conn: Any, chosen: Any, found: list[Any], targets: dict[int, Any],
                            until: datetime, tz: ZoneInfo, apart: bool) -> Inputs:
    """The inputs of the effective value of each assignment of ``found``, read set-based as ``read_effective`` reads
    them for a few: the counted report, the latest counting visit, the latest accepted evidence (zero-base: of the
    year only), what a continuing target carries from last year's; and when each one's latest report was confirmed.
    ``_effective`` applies the rule to them, as each standing is built."""
    dialect = conn.dialect.name
    zero = {r[0]: year_start(targets[r[2]][6], tz) for r in found if targets[r[2]][9] == "zero_base"}
    counted: dict[int, tuple[Any, datetime | None]] = {}
    late: dict[datetime, list[int]] = defaultdict(list)  # zero-base: the latest report is from before the year
    latest: dict[int, datetime | None] = {}
    for r in found:
        if r[8] is not None:  # a report (its value is r[7])
            at = latest[r[0]] = rows.utc(r[8])
            start = zero.get(r[0])
            if start is not None and at is not None and at < start:
                late[start].append(r[0])
            else:
                counted[r[0]] = (r[7], at)
    for start, ids in late.items():
        for part in range(0, len(ids), 500):
            for aid, value, at in (await conn.execute(
                    rows.counted_this_year(ids[part:part + 500], start, until, dialect))).all():
                counted[aid] = (value, rows.utc(at))
    visits: dict[int, Verification] = {}
    for aid, value, at in await rows.rows_of(conn, rows.visits(chosen, until, dialect), apart):
        when = rows.utc(at)
        if aid in zero and when < zero[aid]:  # type: ignore[operator]
            continue
        visits[aid] = Verification(rows.decimal(value), when, "inspection")  # type: ignore[arg-type]
    accepted: dict[int, Verification] = {}
    for aid, value, at, confirmed in await rows.rows_of(conn, rows.acceptances(chosen, until, dialect), apart):
        if aid in zero and rows.utc(confirmed) < zero[aid]:  # type: ignore[operator]
            continue
        accepted[aid] = Verification(rows.decimal(value), rows.utc(at), "evidence")  # type: ignore[arg-type]
    continuing = {tid for tid, t in targets.items() if t[11] is not None}
    carried: dict[int, Effective] = {}
    if continuing:  # a few targets: their assignments' predecessors read with read_effective, as the score does
        orm = {t.id: t for t in (await session.exec(select(Target).where(col(Target.id).in_(continuing)))).all()}
        carried = await carried_from(session, {r[0]: orm[r[2]] for r in found if r[2] in continuing}, until, tz)
    return Inputs(counted, visits, accepted, carried, latest)


def _effective(aid: int, direction: str, inputs: Inputs) -> Effective:
    """The one rule (services/progress/effective.py) on an assignment's inputs."""
    value, at = inputs.counted.get(aid, (None, None))
    return with_carried(effective_of(direction, rows.decimal(value), at, inputs.visits.get(aid),
                                     inputs.accepted.get(aid)), inputs.carried.get(aid))


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while tens of thousands of values are built (they form no cycles: reference
    counting frees them); a full collection amid a big heap would hold the GIL, and so the bot's event loop, for
    tens of milliseconds. Only around code that does not await. (The standings, the ranking's arithmetic, the
    tick and the dashboard's read use this one.)"""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
