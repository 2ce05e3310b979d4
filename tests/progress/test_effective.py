"""The one effective-value rule (services/progress/effective.py, issue #15 §1): the inspector's finding binds in
both directions, stands until a later inspection or accepted evidence, flagged visits wait for an admin, and
zero-base counts only the year's results. The pure rule by hand, then every case through both readers (the views'
``standings`` and the score's set-based load) on the same database: they must agree."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from models.db import Database
from services.core.clock import FixedClock
from services.progress.effective import Verification, effective_of
from services.progress.standings import standings
from tests.support.scoringrig import TZ, D, Scene, at, by_code

MAR, JUN, SEP = at("2027-03-01 10:00"), at("2027-06-01 10:00"), at("2027-09-01 10:00")


def visit(value: int, when: datetime) -> Verification:
    return Verification(D(value), when, "inspection")


def test_the_verified_value_counts_when_it_is_worse_for_the_unit() -> None:
    """Higher is better: claimed 100, verified 40 → 40 (claimed, not verified); verified 120 → the claim 100.
    Lower is better (accidents): claimed 3, verified 6 → 6; claimed 6, verified 3 → the claim 6 (the unit
    gains nothing from a kinder finding)."""
    e = effective_of("higher", D(100), MAR, visit(40, JUN))
    assert (e.value, e.claimed, e.unverified_claim, e.source) == (D(40), D(100), True, "inspection")
    assert effective_of("higher", D(100), MAR, visit(120, JUN)).value == D(100)
    lower = effective_of("lower", D(3), MAR, visit(6, JUN))
    assert (lower.value, lower.unverified_claim) == (D(6), True)
    assert (effective_of("lower", D(6), MAR, visit(3, JUN)).value, effective_of("lower", D(6), MAR, visit(3, JUN))
            .unverified_claim) == (D(6), False)


def test_the_finding_stands_until_a_later_inspection_or_accepted_evidence() -> None:
    """Claimed 100 re-sent after a visit verifying 40 → still 40 (the issue's five-minutes case); evidence the
    office accepted in September for a report of 90 → 90 (the latest verification); a visit in September after
    an acceptance in June → the visit's value."""
    assert effective_of("higher", D(100), SEP, visit(40, JUN)).value == D(40)
    accepted = Verification(D(90), SEP, "evidence")
    e = effective_of("higher", D(90), JUN, visit(40, JUN), accepted)
    assert (e.value, e.unverified_claim, e.source) == (D(90), False, "report")
    assert effective_of("higher", D(100), SEP, visit(70, SEP), Verification(D(90), JUN, "evidence")).value == D(70)
    assert effective_of("higher", None, None, visit(30, JUN)).value == D(30)  # visited, never reported
    assert effective_of("higher", None, None).value is None


CASES = [
    # (name, direction, mode, events, expected effective at 31 Dec 2027)
    ("claim beyond the finding", "higher", "continuous", [("r", 80, "2027-06-01"), ("i", 60, "2027-07-01"),
                                                          ("r", 100, "2027-07-01 10:05")], D(60)),
    ("finding before the claim", "higher", "continuous", [("i", 50, "2027-05-01"), ("r", 80, "2027-06-01")], D(50)),
    ("kinder finding", "higher", "continuous", [("r", 80, "2027-06-01"), ("i", 95, "2027-07-01")], D(80)),
    ("lower: more accidents found", "lower", "continuous", [("r", 3, "2027-06-01"), ("i", 6, "2027-07-01")], D(6)),
    ("lower: fewer found", "lower", "continuous", [("r", 6, "2027-06-01"), ("i", 3, "2027-07-01")], D(6)),
    ("accepted evidence", "higher", "continuous", [("i", 40, "2027-05-01"), ("r", 90, "2027-06-01"),
                                                   ("a", None, "2027-06-05")], D(90)),
    ("rejected evidence", "higher", "continuous", [("i", 40, "2027-05-01"), ("r", 90, "2027-06-01"),
                                                   ("x", None, "2027-06-05")], D(40)),
    ("visit after accepted evidence", "higher", "continuous", [("r", 90, "2027-06-01"), ("i", 40, "2027-05-01"),
                                                               ("a", None, "2027-06-05"), ("i", 70, "2027-08-01")],
     D(70)),
    ("flagged visit pending", "higher", "continuous", [("r", 80, "2027-06-01"), ("p", 30, "2027-07-01")], D(80)),
    ("flagged visit confirmed", "higher", "continuous", [("r", 80, "2027-06-01"), ("c", 30, "2027-07-01")], D(30)),
    ("flagged visit rejected", "higher", "continuous", [("r", 80, "2027-06-01"), ("n", 30, "2027-07-01")], D(80)),
    ("zero-base: last year's report", "higher", "zero_base", [("r", 9, "2026-11-01")], None),
    ("zero-base: last year's finding", "higher", "zero_base", [("i", 2, "2026-11-01"), ("r", 9, "2027-02-01")],
     D(9)),
    ("continuous: last year's report", "higher", "continuous", [("r", 9, "2026-11-01")], D(9)),
    ("visited, never reported", "higher", "continuous", [("i", 30, "2027-07-01")], D(30)),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
async def test_the_views_and_the_score_agree(database: Database, clock: FixedClock, case) -> None:
    """Each case through progress.standings (as /mytargets, pace, alerts, notices and exports read it) and through
    the score's set-based load: the same effective value, the one expected (worked out in CASES)."""
    name, direction, mode, events, expected = case
    s = Scene(database, clock)
    unit = await s.unit("U1")
    a = await s.assign(await s.target("T1", direction=direction, mode=mode), unit, planned=100 if direction ==
                       "higher" else 0, baseline=0 if direction == "higher" else 10)
    await s.play(a, events)
    async with database.read_uow() as uow:
        (standing,) = await standings(uow.session, as_of=date(2027, 12, 31), tz=TZ, assignment_ids=[a.id])
    line = by_code(await s.compute())["U1"].lines[0]
    assert standing.effective == line.value == expected, name
    assert standing.unverified_claim == line.verified, name


async def test_a_flagged_visit_counts_from_its_confirmation(database: Database, clock: FixedClock) -> None:
    """Claimed 80 on 1 Jun; a visit on 1 Jul verifying 30 was flagged off site and confirmed on 1 Aug: as of
    15 Jul the claim 80 counts (the finding waits, shown as held), as of 15 Aug 30 counts."""
    s = Scene(database, clock)
    a = await s.assign(await s.target("T1"), await s.unit("U1"), planned=100)
    await s.report(a, 80, JUN)
    await s.inspect(a, 30, at("2027-07-01 10:00"), confirmation="confirmed", confirmed_at=at("2027-08-01 10:00"))
    assert by_code(await s.compute(cutoff=date(2027, 7, 15)))["U1"].lines[0].value == D(80)
    assert by_code(await s.compute(cutoff=date(2027, 8, 15)))["U1"].lines[0].value == D(30)
    async with database.read_uow() as uow:
        (july,) = await standings(uow.session, as_of=date(2027, 7, 15), tz=TZ, assignment_ids=[a.id])
        (aug,) = await standings(uow.session, as_of=date(2027, 8, 15), tz=TZ, assignment_ids=[a.id])
    assert (july.effective, aug.effective) == (D(80), D(30))


async def test_zero_base_views_count_only_the_year(database: Database, clock: FixedClock) -> None:
    """Issue #15 §3: a zero-base target of 2027, plan 10, with a report of 9 made in December 2026. On 1 Jul 2027
    /mytargets and pace see nothing reported this year (not "on track, 90 %"), as the score does (0)."""
    s = Scene(database, clock)
    a = await s.assign(await s.target("Z1", mode="zero_base"), await s.unit("U1"), planned=10)
    await s.report(a, 9, at("2026-12-15 10:00"))
    async with database.read_uow() as uow:
        (standing,) = await standings(uow.session, as_of=date(2027, 7, 1), tz=TZ, assignment_ids=[a.id])
    assert (standing.claimed, standing.effective, standing.pace.percent_complete) == (None, None, Decimal("0.00"))
    assert standing.pace.status.value == "red"  # expected 5 by 1 Jul, nothing this year
    assert by_code(await s.compute())["U1"].lines[0].ratio == D(0)


async def test_hold_the_line_never_reported_is_not_done_anywhere(database: Database, clock: FixedClock) -> None:
    """Issue #15 §3: zero accidents (baseline 0, plan 0, lower is better) never reported: /mytargets' pace is not
    "done" (not started before the deadline) and the score counts 0 ("no_report"); reported 0 → done and 1."""
    s = Scene(database, clock)
    a = await s.assign(await s.target("SAFE", direction="lower"), await s.unit("U1"), planned=0, baseline=0)
    async with database.read_uow() as uow:
        (standing,) = await standings(uow.session, as_of=date(2027, 7, 1), tz=TZ, assignment_ids=[a.id])
    line = by_code(await s.compute())["U1"].lines[0]
    assert standing.pace.status.value == "not_started" and (line.ratio, line.note) == (D(0), "no_report")
    await s.report(a, 0, JUN)
    async with database.read_uow() as uow:
        (standing,) = await standings(uow.session, as_of=date(2027, 7, 1), tz=TZ, assignment_ids=[a.id])
    line = by_code(await s.compute())["U1"].lines[0]
    assert standing.pace.status.value == "done" and (line.ratio, line.complete) == (D(1), True)
