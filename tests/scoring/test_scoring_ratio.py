"""Scoring, part 1: the ratio and points of each assignment and the completion score C.
Every expected number is computed by hand in the comment beside it (services/scoring/formula.py has the formula)."""

from __future__ import annotations

from datetime import date

from models.db import Database
from models.progress import TargetAdjustment
from services.core.clock import FixedClock
from services.scoring.formula import display
from tests.support.scoringrig import D, Scene, at, by_code


async def test_continuous_target_counts_a_report_of_the_year_before(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    u = await s.unit("U1")
    t = await s.target("CONT", mode="continuous")
    a = await s.assign(t, u, planned=200, baseline=50)
    await s.report(a, 120, at("2026-12-20 10:00"))  # made before the plan year: carried over

    line = by_code(await s.compute())["U1"].lines[0]
    assert line.value == D(120)
    assert line.ratio == D(70) / D(150)  # (120 − 50) / (200 − 50) = 0.4666…
    assert line.points == D(70) / D(150)  # weight 1 × 0.4666…
    assert line.note == ""
    assert not line.complete
    assert display(by_code(await s.compute())["U1"].completion) == "46.67"  # 100 × 0.4666… / 1


async def test_zero_base_target_ignores_reports_before_its_year(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    u = await s.unit("U1")
    t = await s.target("ZERO", mode="zero_base")
    a = await s.assign(t, u, planned=10, baseline=0)
    await s.report(a, 4, at("2026-12-31 23:30"))  # Dec 31, county time: last year's result, ignored

    line = by_code(await s.compute())["U1"].lines[0]
    assert (line.value, line.ratio, line.points, line.note) == (None, D(0), D(0), "no_report")

    await s.report(a, 6, at("2027-01-01 00:30"))  # Jan 1 00:30 county time (Dec 31 16:30 UTC): counts
    line = by_code(await s.compute())["U1"].lines[0]
    assert line.value == D(6)
    assert line.ratio == D("0.6")  # (6 − 0) / (10 − 0)
    assert line.note == ""


async def test_same_reports_score_differently_by_mode(database: Database, clock: FixedClock) -> None:
    """A 2026 report of 4 and a 2027 report of 7 (cumulative) on both kinds of 2027 target: the
    continuous one takes 7 whenever it was reached; the zero-base one only what was reported in 2027."""
    s = Scene(database, clock)
    u = await s.unit("U1")
    cont = await s.assign(await s.target("C1", mode="continuous"), u, planned=10)
    zero = await s.assign(await s.target("Z1", mode="zero_base"), u, planned=10)
    for a in (cont, zero):
        await s.report(a, 4, at("2026-11-30 09:00"))
    await s.report(zero, 7, at("2027-03-01 09:00"))

    result = by_code(await s.compute())["U1"]
    lines = {line.target_code: line for line in result.lines}
    assert lines["C1"].ratio == D("0.4")  # 4 / 10, reported in 2026, carried over
    assert lines["Z1"].ratio == D("0.7")  # 7 / 10, the 2027 report
    assert result.completion == D(55)  # 100 × (0.4 + 0.7) / 2


async def test_cutoff_is_the_end_of_the_day_in_county_time(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    u = await s.unit("U1")
    a = await s.assign(await s.target("T1"), u, planned=100)
    await s.report(a, 40, at("2027-11-30 23:59"))
    await s.report(a, 90, at("2027-12-01 00:01"))

    assert by_code(await s.compute(cutoff=date(2027, 11, 30)))["U1"].lines[0].value == D(40)
    assert by_code(await s.compute(cutoff=date(2027, 12, 1)))["U1"].lines[0].value == D(90)


async def test_ratio_is_capped_in_points_but_shown_unclamped(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    u = await s.unit("U1")
    await s.simple(u, 150, planned=100, weight=2)
    await s.simple(u, 30, planned=100, weight=3)

    result = by_code(await s.compute())["U1"]
    first, second = result.lines
    assert first.ratio == D("1.5")  # 150 / 100, not clamped
    assert first.points == D("2.4")  # 2 × min(1.5, cap 1.2)
    assert first.complete
    assert second.points == D("0.9")  # 3 × 0.3
    assert result.completion == D(66)  # 100 × (2.4 + 0.9) / (2 + 3) = 66
    assert result.failed_targets == [second.target_code]


async def test_lower_is_better_is_reversed_and_never_negative(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    u = await s.unit("U1")
    good = await s.assign(await s.target("L1", direction="lower"), u, planned=4, baseline=10)
    worse = await s.assign(await s.target("L2", direction="lower"), u, planned=4, baseline=10)
    await s.report(good, 6, at("2027-05-01 09:00"))
    await s.report(worse, 12, at("2027-05-01 09:00"))

    lines = {line.target_code: line for line in by_code(await s.compute())["U1"].lines}
    assert lines["L1"].ratio == D(4) / D(6)  # (10 − 6) / (10 − 4) = 0.666…
    assert lines["L2"].ratio == D(-2) / D(6)  # (10 − 12) / (10 − 4) = −0.333…: worse than the baseline
    assert lines["L2"].points == D(0)  # weight × max(−0.333…, 0)


async def test_planned_equals_baseline_is_all_or_nothing(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    u = await s.unit("U1")
    held = await s.assign(await s.target("SAFE1", direction="lower"), u, planned=0, baseline=0)
    broke = await s.assign(await s.target("SAFE2", direction="lower"), u, planned=0, baseline=0)
    kept = await s.assign(await s.target("KEEP", direction="higher"), u, planned=5, baseline=5)
    behind = await s.assign(await s.target("BACK", direction="higher"), u, planned=3, baseline=5)
    await s.report(held, 0, at("2027-05-01 09:00"))
    await s.report(broke, 1, at("2027-05-01 09:00"))
    await s.report(kept, 5, at("2027-05-01 09:00"))
    await s.report(behind, 2, at("2027-05-01 09:00"))

    lines = {line.target_code: line for line in by_code(await s.compute())["U1"].lines}
    assert (lines["SAFE1"].ratio, lines["SAFE1"].note) == (D(1), "planned_equals_baseline")  # 0 ≤ plan 0
    assert (lines["SAFE2"].ratio, lines["SAFE2"].note) == (D(0), "planned_equals_baseline")  # 1 accident
    assert (lines["KEEP"].ratio, lines["KEEP"].complete) == (D(1), True)  # 5 ≥ plan 5
    assert (lines["BACK"].ratio, lines["BACK"].note) == (D(0), "plan_behind_baseline")  # 2 < plan 3


async def test_no_report_scores_zero_with_a_note(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    u = await s.unit("U1")
    await s.simple(u, None, planned=100)
    result = by_code(await s.compute())["U1"]
    assert (result.lines[0].value, result.lines[0].ratio, result.lines[0].note) == (None, D(0), "no_report")
    assert result.completion == D(0)


async def test_verified_value_below_the_claim_wins(database: Database, clock: FixedClock) -> None:
    """The verified value counts whenever it is worse for the unit (issue #15), whichever came first:
    V1 claimed 80, verified 60 later → 60 (0.6); V2 verified 50, claimed 80 later → 50 (0.5, the claim is
    "not verified"); V3 verified 95 above the claim 80 → 80 (0.8); V4 verified 10 after the cut-off → 80 (0.8).
    C = 100 × (0.6 + 0.5 + 0.8 + 0.8) / 4 = 67.5."""
    s = Scene(database, clock)
    u = await s.unit("U1")
    below = await s.assign(await s.target("V1"), u, planned=100)
    await s.report(below, 80, at("2027-06-01 10:00"))
    await s.inspect(below, 60, at("2027-07-01 10:00"))  # visited after the report: 60 counts
    earlier = await s.assign(await s.target("V2"), u, planned=100)
    await s.inspect(earlier, 50, at("2027-05-01 10:00"))  # before the report: the finding still binds
    await s.report(earlier, 80, at("2027-06-01 10:00"))
    above = await s.assign(await s.target("V3"), u, planned=100)
    await s.report(above, 80, at("2027-06-01 10:00"))
    await s.inspect(above, 95, at("2027-07-01 10:00"))  # verified higher: the claim stands
    late = await s.assign(await s.target("V4"), u, planned=100)
    await s.report(late, 80, at("2027-06-01 10:00"))
    await s.inspect(late, 10, at("2028-01-02 10:00"))  # after the cut-off: not counted

    result = by_code(await s.compute())["U1"]
    lines = {line.target_code: line for line in result.lines}
    assert (lines["V1"].value, lines["V1"].claimed, lines["V1"].verified) == (D(60), D(80), True)
    assert lines["V1"].ratio == D("0.6")  # 60 / 100
    assert (lines["V2"].value, lines["V2"].claimed, lines["V2"].verified) == (D(50), D(80), True)
    assert (lines["V3"].value, lines["V3"].verified) == (D(80), False)
    assert lines["V4"].value == D(80)
    assert result.completion == D("67.5")  # 100 × (0.6 + 0.5 + 0.8 + 0.8) / 4


async def test_a_later_report_beyond_the_verified_value_does_not_count(database: Database, clock: FixedClock) -> None:
    """Issue #15's case: claimed 80, verified 60, re-sent 85 after the visit → still 60 (claimed, not verified);
    a correction down to 55 (worse than the finding) counts at once: 55."""
    s = Scene(database, clock)
    u = await s.unit("U1")
    a = await s.assign(await s.target("V1"), u, planned=100)
    await s.report(a, 80, at("2027-06-01 10:00"))
    await s.inspect(a, 60, at("2027-07-01 10:00"))
    await s.report(a, 85, at("2027-08-01 10:00"))  # a newer report after the visit: claimed, not verified
    line = by_code(await s.compute())["U1"].lines[0]
    assert (line.value, line.claimed, line.verified, line.complete) == (D(60), D(85), True, False)
    assert by_code(await s.compute(cutoff=date(2027, 7, 15)))["U1"].lines[0].value == D(60)
    await s.report(a, 55, at("2027-09-01 10:00"))
    line = by_code(await s.compute())["U1"].lines[0]
    assert (line.value, line.verified, line.ratio) == (D(55), False, D("0.55"))


async def test_plan_as_it_stood_on_the_cutoff(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    u = await s.unit("U1")
    a = await s.simple(u, 60, planned=120, code="ADJ")  # raised from 100 to 120 from Dec 1
    person = await s.person()
    await s._add(TargetAdjustment(assignment_id=a.id, requested_by_person_id=person, field_name="planned_value",
                                  old_value="100", new_value="120", reason="调增", status="approved",
                                  requested_at=clock.now(), effective_from=date(2027, 12, 1)))
    assert by_code(await s.compute(cutoff=date(2027, 11, 30)))["U1"].lines[0].ratio == D("0.6")  # 60 / 100
    assert by_code(await s.compute(cutoff=date(2027, 12, 31)))["U1"].lines[0].ratio == D("0.5")  # 60 / 120


async def test_only_active_units_and_targets_of_the_year(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    u = await s.unit("U1")
    gone = await s.unit("GONE", active=False)
    await s.simple(u, 50, planned=100)
    await s.simple(u, 100, planned=100, year=2026)
    await s.simple(gone, 100, planned=100)
    result = await s.compute()
    assert [x.unit_code for x in result.units] == ["U1"]
    assert len(result.units[0].lines) == 1
    assert result.units[0].completion == D(50)  # only the 2027 target: 100 × 0.5
