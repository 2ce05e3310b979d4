"""What the issue found in the tick: a real tick at a future instant is refused (only a dry run looks ahead),
and a condition that ended and came back under the same key reopens its alert instead of crashing."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from models.alerts import Alert
from tests.support.alertrig import add_target, all_alerts, at, county, outbox_rows, report, run


async def test_a_real_tick_at_a_future_instant_is_refused_in_one_line(cli, rig) -> None:
    c = await county(rig.db, rig.clock)
    a = await add_target(rig.db, c, "Y", planned="1000", deadline=date(2027, 12, 31), title="生猪出栏")
    await report(rig.db, a, "10", at(date(2027, 3, 1)), c["cadre"])
    cli.clock = rig.clock  # now: Monday 2027-03-22 09:00
    refused = await cli("jobs", "tick", "--at", "2027-03-25T09:00")
    assert refused.code == 1 and refused.out == ""
    assert refused.err.strip() == "不能在未来时刻 2027-03-25T09:00+08:00 真实运行调度（只有 --dry-run 可以预览未来）。"
    assert await all_alerts(rig.db) == [] and await outbox_rows(rig.db) == []
    english = await cli("jobs", "tick", "--at", "2027-03-22T09:01", DUBAN_LOCALE="en")
    assert english.code == 1 and "A real tick at a future instant (2027-03-22T09:01+08:00) is refused" in english.err
    assert (await cli("jobs", "tick", "--at", "2027-03-25T09:00", "--dry-run")).code == 0  # looking ahead
    now = await cli("jobs", "tick", "--at", "2027-03-22T09:00")
    assert now.code == 0 and [a.kind for a in await all_alerts(rig.db)] == ["pace", "warning"]


async def test_a_pace_red_again_the_same_day_reopens_its_alert(database, clock) -> None:
    """300 of 1,000 on 1 July is red (expected about 496): alert pace|a|red|2026-07-01. A report of 600 at 10:00
    is on track and resolves it; a correction to 300 at 11:00 makes it red again under the same key: the same
    row opens again (before: UNIQUE constraint failed: alerts.key), and nobody is told twice."""
    c = await county(database, clock)
    a = await add_target(database, c, "R", planned="1000", deadline=date(2026, 12, 31))
    await report(database, a, "300", at(date(2026, 6, 30)), c["cadre"])
    first = await run(database, at(date(2026, 7, 1), 9))
    assert {m.key for m in first.messages} == {f"pace|{a}|red|2026-07-01", "warning|1"}
    await report(database, a, "600", at(date(2026, 7, 1), 9, 30), c["cadre"])
    assert (await run(database, at(date(2026, 7, 1), 10))).resolved == 2  # the pace alert and its notice
    await report(database, a, "300", at(date(2026, 7, 1), 10, 30), c["cadre"])
    again = await run(database, at(date(2026, 7, 1), 11))
    alert, notice = await all_alerts(database)
    assert (alert.key, alert.state, alert.stage) == (f"pace|{a}|red|2026-07-01", "open", 1)
    assert notice.key == "warning|1" and notice.state == "open"  # stopped when the pace recovered, open again
    assert again.alerts_created == 0 and again.messages == []
    async with database.uow() as uow:
        assert len((await uow.session.exec(select(Alert))).all()) == 2
