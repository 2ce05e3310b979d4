"""The effective value of an assignment (只看实绩): the one rule, for every view and for the score.

**Counted report.** The latest confirmed report (highest id, so a correction wins over what it
supersedes) confirmed by the moment asked about; for a zero-base target (零基) only reports confirmed
on or after Jan 1 of the target's year (county time), in every view.

**Verifications.** An inspection's verified value (visited by then; zero-base: in the year) counts
as a verification unless its evidence is flagged off site or re-used, in which case it counts only
once an admin has confirmed it (``Inspection.confirmation``: pending → confirmed; rejected never
counts); the office's acceptance of a unit's new evidence (``ProgressReport.review`` accepted) is a
verification of that report's value at the moment it was accepted. The *standing* verification is
the latest of them (by the visit's or the acceptance's time; on a tie the inspection).

**Effective value.** With no standing verification: the counted report's value (None without
one). With one: the worse for the unit of the counted report's value and the verified value in the
target's direction (the lower for "higher is better", the higher for "lower is better"); with no
counted report, the verified value. So a verified value stands until a later inspection or until
the office accepts new evidence: a report beyond it is kept and shown as *claimed, not verified*
(``unverified_claim``) and does not count; a report worse than it counts at once.

``effective_of`` is the rule (pure; ``effective_value`` is its value alone, for the ranking's hot path);
``read_effective`` reads its inputs with the ORM for a few
assignments (progress.standings: /mytargets, pace, alerts, notices, exports); the year-end score reads
the same inputs set-based in services/scoring/load.py and calls ``effective_of`` on them (the tests in
tests/progress/test_effective.py check that both agree on every case).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.inspection import Inspection
from models.plan import Assignment, Target
from models.progress import ProgressReport

# The flags that hold a visit's verified value for an admin's confirmation.
HOLDING_FLAGS = frozenset({"off_site", "exif_off_site", "reused_exact", "reused_similar"})
COUNTING_CONFIRMATION = (None, "confirmed")


class Verification(NamedTuple):
    value: Decimal
    at: datetime
    source: str  # "inspection" | "evidence" (the office accepted the unit's new evidence)


class Effective(NamedTuple):  # a tuple: the score builds 20,000 of them per snapshot

    value: Decimal | None  # what counts; None: nothing reported or verified
    at: datetime | None  # when the counted value was reported or verified
    claimed: Decimal | None  # the counted report's value
    claimed_at: datetime | None
    verified: Verification | None  # the standing verification
    unverified_claim: bool  # the claim is beyond the standing verified value: shown, not counted
    source: str | None = None  # where the value comes from: "report", "inspection", "evidence", "carried" or None
    carried: Decimal | None = None  # continuous: the effective value of last year's target it continues

    @property
    def from_verification(self) -> bool:
        return self.source in ("inspection", "evidence")


def better(direction: str, a: Decimal, b: Decimal) -> bool:
    """Whether ``a`` is strictly better than ``b`` for the unit in the target's direction."""
    return a < b if direction == "lower" else a > b


def standing(inspection: Verification | None, acceptance: Verification | None) -> Verification | None:
    """The latest of the two verifications (on a tie the inspection: the inspector's finding binds)."""
    if inspection is None or acceptance is None:
        return inspection or acceptance
    return acceptance if acceptance.at > inspection.at else inspection


def effective_of(direction: str, claimed: Decimal | None, claimed_at: datetime | None,
                 inspection: Verification | None = None, acceptance: Verification | None = None) -> Effective:
    """The rule of the module docstring, on the latest counted report and the two latest verifications."""
    verified = standing(inspection, acceptance)
    if verified is None:
        source = "report" if claimed is not None else None
        return Effective(claimed, claimed_at, claimed, claimed_at, None, False, source)
    if claimed is None:
        return Effective(verified.value, verified.at, None, None, verified, False, verified.source)
    if better(direction, claimed, verified.value):
        return Effective(verified.value, verified.at, claimed, claimed_at, verified, True, verified.source)
    return Effective(claimed, claimed_at, claimed, claimed_at, verified, False, "report")


def effective_value(direction: str, claimed: Decimal | None, inspection: Decimal | None = None,
                    inspection_at: Any = None, acceptance: Decimal | None = None, acceptance_at: Any = None,
                    carried: Decimal | None = None) -> Decimal | None:
    """``with_carried(effective_of(...), carried).value`` without building the tuples: the same rule, its value
    only, for the ranking's 20,000 assignments (services/scoring/calc.py). ``inspection`` and ``acceptance`` are
    the two latest verifications' values (None: none), ``*_at`` their moments (compared only when both exist;
    datetimes, or a database's text of UTC moments in one fixed format); ``carried`` the value of last year's
    target a continuous one continues. tests/progress/test_effective.py checks it against ``effective_of`` on
    every case."""
    # The standing verification, as ``standing``: the later of the two, on a tie the inspection.
    verified = acceptance if inspection is None or (acceptance is not None and acceptance_at > inspection_at) \
        else inspection
    if verified is None:
        value = claimed
    elif claimed is None:
        value = verified
    else:  # the worse for the unit of the claim and the standing verified value
        value = verified if better(direction, claimed, verified) else claimed
    return carried if value is None else value


def with_carried(e: Effective, carried: Effective | None) -> Effective:
    """Continuous targets continuing last year's (连续考核): values are cumulative, so with nothing reported or
    verified on this year's assignment the effective value of last year's (the same unit's) carries; a report of
    this year (the new cumulative total) counts as usual. The carried value is kept for display either way."""
    if carried is None or carried.value is None:
        return e
    if e.value is None:
        return carried._replace(source="carried", carried=carried.value)
    return e._replace(carried=carried.value)


def holds(flags: Iterable[dict] | None) -> bool:
    """Whether a visit's flags hold its verified value for an admin's confirmation."""
    return any(isinstance(f, dict) and f.get("kind") in HOLDING_FLAGS for f in flags or ())


def year_start(year: int, tz: ZoneInfo) -> datetime:
    return datetime(year, 1, 1, tzinfo=tz)


async def read_effective(
    session: AsyncSession, assignments: dict[int, Target], until: datetime, tz: ZoneInfo
) -> dict[int, Effective]:
    """The effective value of each assignment (id → its target) at ``until``: the rule's inputs read with a
    handful of queries, then ``effective_of``."""
    if not assignments:
        return {}
    ids = list(assignments)
    reports = await _latest_reports(session, ids, until)
    zero = {aid: year_start(t.year, tz) for aid, t in assignments.items() if t.mode == "zero_base"}
    for aid, start in zero.items():  # zero-base: the latest report of the year (rare to differ: read it then)
        if aid in reports and reports[aid].confirmed_at < start:
            reports.pop(aid)
            newest = (await session.exec(
                select(ProgressReport).where(ProgressReport.assignment_id == aid, ProgressReport.confirmed_at >= start,
                                             ProgressReport.confirmed_at <= until)
                .order_by(col(ProgressReport.id).desc()).limit(1))).first()
            if newest is not None:
                reports[aid] = newest
    inspections: dict[int, Verification] = {}
    for visit in (await session.exec(
        select(Inspection).where(
            col(Inspection.assignment_id).in_(ids), col(Inspection.verified_value).is_not(None),
            Inspection.visited_at <= until,
            or_(col(Inspection.confirmation).is_(None),
                (col(Inspection.confirmation) == "confirmed") & (col(Inspection.confirmed_at) <= until)))
        .order_by(col(Inspection.visited_at), col(Inspection.id))
    )).all():
        assert visit.assignment_id is not None and visit.verified_value is not None
        if visit.assignment_id in zero and visit.visited_at < zero[visit.assignment_id]:
            continue
        inspections[visit.assignment_id] = Verification(visit.verified_value, visit.visited_at, "inspection")
    acceptances: dict[int, Verification] = {}
    for report in (await session.exec(
        select(ProgressReport).where(
            col(ProgressReport.assignment_id).in_(ids), ProgressReport.review == "accepted",
            col(ProgressReport.reviewed_at) <= until)
        .order_by(col(ProgressReport.reviewed_at), col(ProgressReport.id))
    )).all():
        assert report.reviewed_at is not None
        if report.assignment_id in zero and report.confirmed_at < zero[report.assignment_id]:
            continue
        acceptances[report.assignment_id] = Verification(report.value, report.reviewed_at, "evidence")
    carried = await carried_from(session, {aid: t for aid, t in assignments.items() if t.continues_id}, until, tz)
    out = {}
    for aid, target in assignments.items():
        report = reports.get(aid)
        out[aid] = with_carried(effective_of(target.direction, report.value if report else None,
                                             report.confirmed_at if report else None, inspections.get(aid),
                                             acceptances.get(aid)), carried.get(aid))
    return out


async def carried_from(session: AsyncSession, continuing: dict[int, Target], until: datetime,
                       tz: ZoneInfo) -> dict[int, Effective]:
    """For assignments of continuing targets: the effective value of the same unit's assignment of last year's
    target (itself carried from the year before, if that one continues another)."""
    if not continuing:
        return {}
    units = dict((await session.exec(select(Assignment.id, Assignment.unit_id)
                                     .where(col(Assignment.id).in_(list(continuing))))).all())
    previous = (await session.exec(
        select(Assignment, Target).join(Target, col(Target.id) == col(Assignment.target_id))
        .where(col(Assignment.target_id).in_({t.continues_id for t in continuing.values()})))).all()
    by_key = {(a.target_id, a.unit_id): (a.id, t) for a, t in previous}
    pairs = {aid: by_key[(t.continues_id, units[aid])] for aid, t in continuing.items()
             if (t.continues_id, units.get(aid)) in by_key}
    values = await read_effective(session, {pid: t for pid, t in pairs.values() if pid is not None}, until, tz)
    return {aid: values[pid] for aid, (pid, _) in pairs.items() if pid in values}


async def _latest_reports(session: AsyncSession, ids: list[int], until: datetime) -> dict[int, ProgressReport]:
    newest = (select(func.max(ProgressReport.id)).where(col(ProgressReport.assignment_id).in_(ids),
                                                        ProgressReport.confirmed_at <= until)
              .group_by(col(ProgressReport.assignment_id)))
    rows = (await session.exec(select(ProgressReport).where(col(ProgressReport.id).in_(newest)))).all()
    return {r.assignment_id: r for r in rows}
