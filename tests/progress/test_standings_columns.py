"""``standings`` reads its inputs column-wise (services/progress/standing_rows.py, issue #19): every caller
(/mytargets, /portfolio, alerts, notices, exports, the dashboard) must get exactly what the ORM read gave. A county
with every kind of case, read both ways (the ORM read kept in tests/progress/standings_before.py) on several
days, for the whole county, a few units and a few assignments: the same standings, field by field, in the same
order. Then a few of the cases by hand, so that the comparison is not only against itself."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime

import pytest

from models.db import Database
from models.plan import Assignment, Target, Unit
from models.progress import TargetAdjustment
from services.core.clock import FixedClock
from services.progress import standing_rows as rows
from services.progress.standings import Standing, standings
from tests.progress.standings_before import standings_before
from tests.support.scoringrig import TZ, D, Scene, at

DAYS = [date(2026, 12, 20), date(2027, 1, 1), date(2027, 3, 15), date(2027, 6, 20), date(2027, 8, 15),
        date(2027, 12, 31), date(2028, 2, 1)]


async def _county(s: Scene, database: Database) -> dict[str, Assignment]:
    """One assignment per case, named by it (the comments give what each one shows)."""
    u1, u2, u3 = await s.unit("U1"), await s.unit("U2", "部门"), await s.unit("U3")
    gone = await s.unit("U9", active=False)
    group = await s.group("G1")
    out: dict[str, Assignment] = {}

    async def case(name: str, unit: Unit, target: Target, planned: int, baseline: int = 0,
                   **kw) -> Assignment:  # type: ignore[no-untyped-def]
        out[name] = await s.assign(target, unit, planned, baseline, **kw)
        return out[name]

    shared = await s.target("T01", group=group, category="industry")
    a = await case("reported thrice", u1, shared, 100)  # the latest report counts; its reporter named
    for value, when in ((20, "2027-02-01 09:00"), (35, "2027-04-01 09:00"), (50, "2027-06-01 09:00")):
        await s.report(a, value, at(when))
    await case("never reported", u2, shared, 80)  # pace on the baseline
    await case("same target, other unit", u3, shared, 100)
    a = await case("lower: more found", u1, await s.target("T02", direction="lower"), 2, 10)
    await s.report(a, 4, at("2027-05-01 10:00"))
    await s.inspect(a, 7, at("2027-06-01 10:00"))  # higher is worse: 7 counts, 4 is claimed, not verified
    a = await case("lower: fewer found", u2, await s.target("T03", direction="lower"), 2, 10)
    await s.report(a, 6, at("2027-05-01 10:00"))
    await s.inspect(a, 3, at("2027-06-01 10:00"))  # the kinder finding: the claim 6 counts
    a = await case("higher: verified lower", u3, await s.target("T04"), 100)
    await s.report(a, 90, at("2027-05-01 10:00"))
    await s.inspect(a, 40, at("2027-06-01 10:00"))
    await s.report(a, 95, at("2027-07-01 10:00"))  # beyond the standing finding: 40 still counts
    a = await case("accepted evidence", u1, await s.target("T05"), 100)
    await s.inspect(a, 30, at("2027-04-01 10:00"))
    accepted = await s.report(a, 70, at("2027-05-01 10:00"))
    await s.accept(accepted, at("2027-05-10 10:00"))
    a = await case("rejected evidence", u2, await s.target("T06"), 100)
    await s.inspect(a, 30, at("2027-04-01 10:00"))
    await s.accept(await s.report(a, 70, at("2027-05-01 10:00")), at("2027-05-10 10:00"), "rejected")
    a = await case("held visit", u3, await s.target("T07"), 100)
    await s.report(a, 60, at("2027-05-01 10:00"))
    await s.inspect(a, 10, at("2027-06-01 10:00"), confirmation="pending")  # waits: 60 counts, one held
    a = await case("confirmed flagged visit", u1, await s.target("T08"), 100)
    await s.report(a, 60, at("2027-05-01 10:00"))
    await s.inspect(a, 20, at("2027-06-01 10:00"), confirmation="confirmed", confirmed_at=at("2027-08-01 10:00"))
    a = await case("rejected flagged visit", u2, await s.target("T09"), 100)
    await s.report(a, 60, at("2027-05-01 10:00"))
    await s.inspect(a, 20, at("2027-06-01 10:00"), confirmation="rejected", confirmed_at=at("2027-06-02 10:00"))
    a = await case("visited, never reported", u3, await s.target("T10"), 100)
    await s.inspect(a, 45, at("2027-06-01 10:00"))
    zero = await s.target("Z01", mode="zero_base")
    a = await case("zero-base: last year's report", u1, zero, 10)
    await s.report(a, 9, at("2026-12-15 10:00"))
    await s.inspect(a, 8, at("2026-12-16 10:00"))  # last year's finding does not count either
    a = await case("zero-base: both years", u2, zero, 10)
    await s.report(a, 9, at("2026-12-15 10:00"))
    await s.report(a, 3, at("2027-03-01 10:00"))
    accepted = await s.report(a, 5, at("2027-04-01 10:00"))
    await s.accept(accepted, at("2027-04-02 10:00"))
    a = await case("zero-base: last year's report entered last", u3, zero, 10)
    await s.report(a, 4, at("2027-02-01 10:00"))
    await s.report(a, 9, at("2026-12-30 10:00"))  # the highest id is last year's: the year's 4 counts, unnamed
    await case("hold the line, never reported", u1, await s.target("SAFE1", direction="lower"), 0, 0)
    a = await case("hold the line, reported", u2, await s.target("SAFE2", direction="lower"), 0, 0)
    await s.report(a, 0, at("2027-03-01 10:00"))
    a = await case("milestones", u3, await s.target("T11"), 100,
                   milestones=[["2027-03-31", "10"], ["2027-06-30", "60"], ["2027-09-30", "90"]])
    await s.report(a, 30, at("2027-04-15 10:00"))
    a = await case("decimals", u1, await s.target("T12"), "1234.5678", "0.25")  # type: ignore[arg-type]
    await s.report(a, "617.1", at("2027-06-01 10:00"))
    a = await case("done early", u2, await s.target("T13", deadline=date(2027, 6, 30)), 10)
    await s.report(a, 12, at("2027-05-01 10:00"))
    a = await case("overdue", u3, await s.target("T14", deadline=date(2027, 6, 10)), 10)
    await s.report(a, 4, at("2027-05-01 10:00"))
    a = await case("inactive unit", gone, await s.target("T15"), 10)
    await s.report(a, 4, at("2027-05-01 10:00"))
    # Continuity: last year's target, this year's continues it; the unit reports on last year's only.
    old = await s.target("C26", year=2026)
    new = await s.target("C27")
    async with database.uow() as uow:
        row = await uow.session.get(Target, new.id)
        assert row is not None
        row.continues_id = old.id
        uow.session.add(row)
        await uow.commit()
    a = await case("continued from last year", u1, old, 50)
    await s.report(a, 30, at("2026-11-01 10:00"))
    await case("continues last year's", u1, new, 80)
    a = await case("continues, reported this year", u2, new, 80)
    await case("last year's, other unit", u2, old, 50)
    await s.report(a, 40, at("2027-05-01 10:00"))
    # Adjustments: approved, from 1 Jul: before that the old plan and deadline stand.
    a = await case("adjusted", u3, await s.target("T16"), 100)
    await s.report(a, 40, at("2027-05-01 10:00"))
    person = await s.person()
    async with database.uow() as uow:
        row = await uow.session.get(Assignment, a.id)
        assert row is not None
        row.planned_value, row.deadline = D(150), date(2027, 10, 31)
        uow.session.add(row)
        for name, old_value, new_value in (("planned_value", "100", "150"), ("deadline", "", "2027-10-31"),
                                           ("planned_value", "120", "150")):
            uow.session.add(TargetAdjustment(
                assignment_id=a.id, requested_by_person_id=person, field_name=name, old_value=old_value,
                new_value=new_value, reason="调整", status="approved", requested_at=datetime(2027, 6, 1, tzinfo=UTC),
                effective_from=date(2027, 7, 1) if old_value != "120" else date(2027, 9, 1)))
        await uow.commit()
    a = await case("closed target", u1, await s.target("T17"), 10)
    async with database.uow() as uow:
        row = await uow.session.get(Target, a.target_id)
        assert row is not None
        row.closed = True
        uow.session.add(row)
        await uow.commit()
    return out


def _fields(found: list[Standing]) -> list[dict]:
    """Field by field, with each value's type and text (1.50 and 1.5 are equal decimals but show differently)."""
    return [{k: (type(v).__name__, str(v)) for k, v in asdict(st).items()} for st in found]


@pytest.mark.parametrize("partition", [rows.PARTITION, 4])
async def test_the_column_wise_read_equals_the_orm_read(database: Database, clock: FixedClock, partition: int,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Also read 4 rows at a time (a county of 20,000 assignments comes in partitions of PARTITION rows, each built
    and sorted apart, then merged): the same order."""
    monkeypatch.setattr(rows, "PARTITION", partition)
    s = Scene(database, clock)
    cases = await _county(s, database)
    some = [cases["reported thrice"].unit_id, cases["inactive unit"].unit_id]
    few = [cases[name].id for name in ("held visit", "zero-base: both years", "continues last year's", "adjusted")]
    async with database.read_uow() as uow:
        for day in DAYS:
            for kw in ({}, {"unit_ids": some}, {"assignment_ids": few}, {"unit_ids": []}, {"assignment_ids": []}):
                old = await standings_before(uow.session, as_of=day, tz=TZ, **kw)
                new = await standings(uow.session, as_of=day, tz=TZ, **kw)
                assert new == old, (day, kw)
                assert _fields(new) == _fields(old), (day, kw)
        assert len(await standings(uow.session, as_of=DAYS[0], tz=TZ)) == len(cases)


async def test_a_few_cases_by_hand(database: Database, clock: FixedClock) -> None:
    """As of 20 Jun 2027. Lower is better, claimed 4, found 7 → 7 counts, the claim is not verified. A claim of 90
    found to be 40 → 40 (claimed 90). Accepted evidence of 70 after a finding of 30 → 70 from the evidence. A held
    visit of 10 after a claim of 60 → 60, one visit held. Zero-base with the year's 4 entered before last year's 9
    → 4, no reporter named (the latest report is last year's). The continuing target with nothing this year → last
    year's 30 carried. Adjusted from 1 Jul to plan 150 by 31 Oct: the plan of 100 by 31 Dec stands on 20 Jun."""
    s = Scene(database, clock)
    cases = await _county(s, database)
    async with database.read_uow() as uow:
        found = {st.assignment_id: st for st in await standings(uow.session, as_of=date(2027, 6, 20), tz=TZ)}

    def of(name: str) -> Standing:
        return found[cases[name].id or 0]

    assert (of("lower: more found").effective, of("lower: more found").unverified_claim) == (D(7), True)
    assert (of("higher: verified lower").effective, of("higher: verified lower").claimed) == (D(40), D(90))
    accepted = of("accepted evidence")
    assert (accepted.effective, accepted.verified, accepted.verified_source) == (D(70), D(70), "evidence")
    assert (of("held visit").effective, of("held visit").held_visits) == (D(60), 1)
    late = of("zero-base: last year's report entered last")
    assert (late.effective, late.last_reporter) == (D(4), None)
    assert of("reported thrice").last_reporter == "测试员"
    carried = of("continues last year's")
    assert (carried.effective, carried.carried, carried.claimed) == (D(30), D(30), D(30))
    adjusted = of("adjusted")
    assert (adjusted.planned, adjusted.deadline) == (D(100), date(2027, 12, 31))
    assert of("decimals").planned == D("1234.5678") and of("decimals").baseline == D("0.25")
    assert of("hold the line, never reported").pace.status.value == "not_started"
    assert of("overdue").pace.status.value == "overdue" and of("done early").pace.status.value == "done"
