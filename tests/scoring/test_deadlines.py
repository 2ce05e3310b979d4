"""Deadlines count (按期完成, issue #15 §2): an assignment is scored on its effective value at its deadline; what is
reached later counts by ``late_credit``; missed milestones cost points by ``milestone_weight``. Every number is
worked out by hand in the docstrings (services/scoring/formula.py has the formula)."""

from __future__ import annotations

from datetime import date

from models.db import Database
from services.core.clock import FixedClock
from tests.support.scoringrig import D, Scene, at, by_code

JUNE_30 = date(2027, 6, 30)


async def test_reached_after_the_deadline_counts_nothing_by_default(database: Database, clock: FixedClock) -> None:
    """Plan 100 due 30 June; 40 reported on 1 June, 100 on 3 November. Default late_credit 0: the ratio is the
    on-time 0.4 (points 0.4, C = 40, not complete); "reached on 2027-11-03, deadline 2027-06-30" is kept."""
    s = Scene(database, clock)
    a = await s.assign(await s.target("T1", deadline=JUNE_30), await s.unit("U1"), planned=100)
    await s.report(a, 40, at("2027-06-01 10:00"))
    await s.report(a, 100, at("2027-11-03 10:00"))
    result = by_code(await s.compute())["U1"]
    line = result.lines[0]
    assert (line.value, line.on_time_value, line.on_time_ratio, line.ratio) == (D(100), D(40), D("0.4"), D("0.4"))
    assert (line.complete, line.late, line.reached_on, line.deadline) == (False, True, "2027-11-03", "2027-06-30")
    assert result.completion == D(40) and result.failed_targets == ["T1"]


async def test_late_credit_counts_a_share_of_the_late_part(database: Database, clock: FixedClock) -> None:
    """The same with late_credit 0.5: ratio = 0.4 + 0.5 × (1.0 − 0.4) = 0.7, points 0.7, C = 70."""
    s = Scene(database, clock)
    a = await s.assign(await s.target("T1", deadline=JUNE_30), await s.unit("U1"), planned=100)
    await s.report(a, 40, at("2027-06-01 10:00"))
    await s.report(a, 100, at("2027-11-03 10:00"))
    result = by_code(await s.compute(extra_rules="late_credit = 0.5"))["U1"]
    assert (result.lines[0].ratio, result.lines[0].points, result.completion) == (D("0.7"), D("0.7"), D(70))


async def test_reached_on_time_scores_in_full(database: Database, clock: FixedClock) -> None:
    """Plan 100 due 30 June, 100 reported on 20 June, 110 on 1 December: on time 1.0; the late 0.1 counts
    by late_credit 0.5: ratio 1.0 + 0.5 × (1.1 − 1.0) = 1.05; complete, reached on 2027-06-20."""
    s = Scene(database, clock)
    a = await s.assign(await s.target("T1", deadline=JUNE_30), await s.unit("U1"), planned=100)
    await s.report(a, 100, at("2027-06-20 10:00"))
    await s.report(a, 110, at("2027-12-01 10:00"))
    line = by_code(await s.compute(extra_rules="late_credit = 0.5"))["U1"].lines[0]
    assert (line.ratio, line.complete, line.late, line.reached_on) == (D("1.05"), True, False, "2027-06-20")


async def test_a_later_finding_below_the_claim_at_the_deadline_counts(database: Database, clock: FixedClock) -> None:
    """Claimed 100 on 20 June (due 30 June); an inspection on 1 September verifies 60: the value at the deadline
    is the worse of 100 (as it stood) and 60 (now) = 60, ratio 0.6, not complete."""
    s = Scene(database, clock)
    a = await s.assign(await s.target("T1", deadline=JUNE_30), await s.unit("U1"), planned=100)
    await s.report(a, 100, at("2027-06-20 10:00"))
    await s.inspect(a, 60, at("2027-09-01 10:00"))
    line = by_code(await s.compute())["U1"].lines[0]
    assert (line.on_time_value, line.ratio, line.complete) == (D(60), D("0.6"), False)


async def test_a_deadline_after_the_cutoff_scores_the_value_at_the_cutoff(database: Database,
                                                                          clock: FixedClock) -> None:
    """Due 31 December, cut-off 30 September: 70 reported on 1 September → ratio 0.7 (no on-time value)."""
    s = Scene(database, clock)
    a = await s.assign(await s.target("T1"), await s.unit("U1"), planned=100)
    await s.report(a, 70, at("2027-09-01 10:00"))
    line = by_code(await s.compute(cutoff=date(2027, 9, 30)))["U1"].lines[0]
    assert (line.ratio, line.on_time_value, line.late) == (D("0.7"), None, False)


async def test_missed_milestones_cost_points(database: Database, clock: FixedClock) -> None:
    """Plan 100 from 0, due 31 December; milestones 31 March 25 % and 30 June 50 % (expected 25 and 50).
    Reports: 30 on 20 March (milestone 1 met: 30 ≥ 25), 40 on 20 June (milestone 2 missed: 40 < 50), 100 on
    1 December. milestone_weight 0.2: points = 1 × 1.0 × (1 − 0.2 × 1/2) = 0.9, C = 90; with the default 0,
    points 1.0."""
    s = Scene(database, clock)
    a = await s.assign(await s.target("T1"), await s.unit("U1"), planned=100,
                       milestones=[["2027-03-31", "25"], ["2027-06-30", "50"]])
    await s.report(a, 30, at("2027-03-20 10:00"))
    await s.report(a, 40, at("2027-06-20 10:00"))
    await s.report(a, 100, at("2027-12-01 10:00"))
    result = by_code(await s.compute(extra_rules="milestone_weight = 0.2"))["U1"]
    line = result.lines[0]
    assert (line.milestones_due, line.milestones_missed, line.points, result.completion) == (2, 1, D("0.9"), D(90))
    assert by_code(await s.compute())["U1"].lines[0].points == D(1)
