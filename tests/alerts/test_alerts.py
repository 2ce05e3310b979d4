"""The scheduler tick on the injected clock: reminders on the right working days, pace, escalation,
dedup, grouping, quiet hours, the calendar fallback."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from models.alerts import AlertDelivery
from models.calendar import CalendarYear
from services.alerts import tick
from services.calendar.schedule import load_schedule
from tests.support.alertrig import add_target, all_alerts, at, county, outbox_rows, report, run, simulate


def _days(messages, kind: str, person: str | None = None) -> list[tuple[str, str]]:
    return [(m.key.rsplit("|", 1)[1], moment.date().isoformat()) for moment, m in messages
            if m.kind == kind and (person is None or m.person == person)]


async def test_deadline_reminders_follow_the_2026_national_day_working_days(database, clock) -> None:
    c = await county(database, clock)
    a = await add_target(database, c, "T1", deadline=date(2026, 10, 12))
    await report(database, a, "95", at(date(2026, 9, 1)), c["cadre"])  # on track: no pace noise
    messages = await simulate(database, date(2026, 8, 1), date(2026, 10, 31))  # a quarter
    # T-7 on Thu 24 Sep (the holidays 25–27 Sep and 1–7 Oct do not count), T-3 on Thu 8 Oct,
    # T-1 on Saturday 10 Oct — a 调休 working day — and on the day itself.
    assert _days(messages, "deadline", c["cadre"].code) == [
        ("T-7", "2026-09-24"), ("T-3", "2026-10-08"), ("T-1", "2026-10-10"), ("T0", "2026-10-12"),
    ]
    # Both cadres, each once per key; nobody above the unit for plain reminders.
    assert {m.person for _, m in messages if m.kind == "deadline"} == {c["cadre"].code, c["cadre_en"].code}


async def test_a_missed_tick_catches_up_once(database, clock) -> None:
    c = await county(database, clock)
    a = await add_target(database, c, "T1", deadline=date(2026, 10, 12))
    await report(database, a, "95", at(date(2026, 9, 1)), c["cadre"])
    # The bot was down from 23 Sep to 28 Sep: the first tick after says T-7 once.
    first = await run(database, at(date(2026, 9, 29)))
    again = await run(database, at(date(2026, 9, 29), 15))
    assert [m.key for m in first.messages if m.person == c["cadre"].code] == [f"deadline|{a}|info|T-7"]
    assert again.messages == []


async def test_quiet_hours_and_days_off_defer_ordinary_reminders(database, clock) -> None:
    c = await county(database, clock)
    a = await add_target(database, c, "T1", deadline=date(2026, 10, 12))
    await report(database, a, "95", at(date(2026, 9, 1)), c["cadre"])
    assert (await run(database, at(date(2026, 9, 23), 22))).messages == []  # night before: T-7 not yet
    assert (await run(database, at(date(2026, 9, 24), 7, 30))).messages == []  # quiet until 08:00
    assert [m.kind for m in (await run(database, at(date(2026, 9, 24), 8))).messages].count("deadline") == 2
    # Sat 3 Oct is a holiday: the T-3 stage is not announced before the next working morning.
    assert (await run(database, at(date(2026, 10, 3), 10))).messages == []


async def test_pace_yellow_goes_to_cadres_and_red_to_leaders_at_once(database, clock) -> None:
    c = await county(database, clock)
    yellow = await add_target(database, c, "Y", planned="1000", deadline=date(2026, 12, 31))
    red = await add_target(database, c, "R", planned="1000", deadline=date(2026, 12, 31),
                           milestones=[["2026-03-31", "50"]])
    # 1 Jul 2026, straight line: 1000 × 181/364 ≈ 497 expected; 400 reached → 0.80 → yellow.
    await report(database, yellow, "400", at(date(2026, 6, 30)), c["cadre"])
    # Milestone 50% by 31 Mar, then straight to 100% on 31 Dec: 500 + 500 × 92/275 ≈ 667.27 on 1 Jul;
    # 400 reached → 0.60 → red.
    await report(database, red, "400", at(date(2026, 6, 30)), c["cadre"])
    result = await run(database, at(date(2026, 7, 1)))
    told = {(m.key.split("|")[0], m.level, m.person) for m in result.messages if m.kind == "pace"}
    assert ("pace", "yellow", c["cadre"].code) in told
    assert ("pace", "yellow", c["leader"].code) not in told
    for who in ("cadre", "cadre_en", "leader", "head"):
        assert ("pace", "red", c[who].code) in told
    red_text = next(m.text for m in result.messages if m.level == "red" and m.person == c["cadre"].code)
    assert "按期应达 667.27 个" in red_text and "实际 400 个" in red_text and "差距 267.27 个" in red_text


async def test_unacknowledged_yellow_climbs_the_ladder_and_acknowledged_stops(database, clock) -> None:
    from services.alerts.actions import acknowledge

    c = await county(database, clock)
    a = await add_target(database, c, "Y", planned="1000", deadline=date(2026, 12, 31))
    b = await add_target(database, c, "Z", planned="1000", deadline=date(2026, 12, 31))
    await report(database, a, "400", at(date(2026, 6, 30)), c["cadre"])
    await report(database, b, "400", at(date(2026, 6, 30)), c["cadre"])
    await run(database, at(date(2026, 7, 3)))  # Friday: yellow to the cadres
    z_alert = next(x for x in await all_alerts(database) if x.assignment_id == b)
    clock.set(at(date(2026, 7, 3), 10))
    await acknowledge(z_alert.id, 200, update_id=None, uow=database.uow(), clock=clock)
    assert (await run(database, at(date(2026, 7, 4)))).messages == []  # Saturday: nothing
    monday = await run(database, at(date(2026, 7, 6)))  # one working day later: the leaders
    assert {(m.person, m.key.split("|")[1]) for m in monday.messages} == {
        (c["leader"].code, str(a)), (c["head"].code, str(a))}
    assert "逐级上报" in monday.messages[0].text
    tuesday = await run(database, at(date(2026, 7, 7)))
    assert {m.person for m in tuesday.messages} == {c["admin"].code}
    assert (await run(database, at(date(2026, 7, 8)))).messages == []  # the top of the ladder


async def test_a_persons_alerts_of_one_tick_are_one_push_that_fits_one_screen(database, clock) -> None:
    c = await county(database, clock)
    for i in range(40):
        a = await add_target(database, c, f"K{i:02d}", planned="1000", deadline=date(2026, 12, 31))
        await report(database, a, "400", at(date(2026, 6, 30)), c["cadre"])
    result = await run(database, at(date(2026, 7, 1)))
    (row,) = [r for r in await outbox_rows(database) if r.chat_id == 200]
    assert len([m for m in result.messages if m.person == c["cadre"].code]) == 40
    assert len(row.text) <= 600 and row.text.startswith("督办提醒：新 40 条\n🟡 黄色 40\n进度预警 40\n最需关注：")
    assert "另有 35 条" in row.text
    assert row.reply_markup == {"inline_keyboard": [[{"text": "全部 40 条 ▸", "callback_data": f"al:ls:{row.id}"},
                                                     {"text": "✔ 全部确认", "callback_data": f"al:aa:{row.id}"}]]}
    async with database.uow() as uow:  # the list is the deliveries that point at the push
        carried = (await uow.session.exec(select(AlertDelivery).where(AlertDelivery.outbox_id == row.id))).all()
        assert len(carried) == 40
    again = await run(database, at(date(2026, 7, 1), 15))
    assert again.messages == [] and len(await outbox_rows(database)) == 2  # both cadres, once


async def test_long_titles_still_fit_one_screen(database, clock) -> None:
    c = await county(database, clock)
    for i in range(20):
        a = await add_target(database, c, f"L{i:02d}", planned="1000", deadline=date(2026, 12, 31),
                             title=f"第{i}项" + "推进农村人居环境整治提升" * 12)
        await report(database, a, "400", at(date(2026, 6, 30)), c["cadre"])
    await run(database, at(date(2026, 7, 1)))
    (row,) = [r for r in await outbox_rows(database) if r.chat_id == 200]
    assert len(row.text) <= 600 and "🟡 #1 第0项推进农村人居环境整治…（青山村）差 97.25 个" in row.text


async def test_dry_run_writes_nothing(database, clock) -> None:
    c = await county(database, clock)
    a = await add_target(database, c, "Y", planned="1000", deadline=date(2026, 12, 31))
    await report(database, a, "400", at(date(2026, 6, 30)), c["cadre"])
    dry = await run(database, at(date(2026, 7, 1)), dry_run=True)
    assert dry.messages and await outbox_rows(database) == [] and await all_alerts(database) == []
    real = await run(database, at(date(2026, 7, 1)))
    assert [m.key for m in real.messages] == [m.key for m in dry.messages]


async def test_overdue_escalates_and_reminds_every_working_day(database, clock) -> None:
    c = await county(database, clock)
    a = await add_target(database, c, "T1", deadline=date(2026, 10, 12))
    await report(database, a, "95", at(date(2026, 9, 1)), c["cadre"])
    messages = await simulate(database, date(2026, 10, 13), date(2026, 10, 19), hours=(9,))
    overdue = [(m.person, moment.date().isoformat()) for moment, m in messages if m.kind == "overdue"]
    assert overdue == [
        (c["cadre"].code, "2026-10-13"), (c["cadre_en"].code, "2026-10-13"),  # the first day overdue
        (c["leader"].code, "2026-10-14"), (c["head"].code, "2026-10-14"),  # nobody acknowledged
        (c["admin"].code, "2026-10-15"),
    ]
    daily = sorted({moment.date().isoformat() for moment, m in messages if m.kind == "overdue_daily"})
    assert daily == ["2026-10-14", "2026-10-15", "2026-10-16", "2026-10-19"]  # working days only


async def test_a_year_without_a_calendar_falls_back_and_tells_the_admins_once(database, clock) -> None:
    c = await county(database, clock)
    a = await add_target(database, c, "T1", deadline=date(2027, 2, 15), year=2027)
    await report(database, a, "95", at(date(2027, 1, 5)), c["cadre"])
    await run(database, at(date(2027, 2, 1)))
    await run(database, at(date(2027, 2, 2)))
    warnings = [r for r in await outbox_rows(database) if r.dedup_key and r.dedup_key.startswith("calendar:")]
    assert [r.chat_id for r in warnings] == [500]


async def test_a_loaded_2027_schedule_moves_the_reminders(database, clock) -> None:
    c = await county(database, clock)
    a = await add_target(database, c, "T1", deadline=date(2027, 2, 19), year=2027)
    await report(database, a, "95", at(date(2027, 1, 5)), c["cadre"])
    schedule = ('year = 2027\nholidays = ["2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11", '
                '"2027-02-12"]\nworkdays = ["2027-02-14"]\n')
    clock.set(at(date(2027, 1, 10)))
    await load_schedule(schedule, actor="cli", uow=database.uow(), clock=clock)
    messages = await simulate(database, date(2027, 2, 1), date(2027, 2, 19), hours=(9,))
    # Working days after 3 Feb: 4, 14 (a working Sunday), 15, 16, 17, 18, 19 — so T-7 is on 3 Feb
    # (with plain weekends it would have been 10 Feb).
    assert _days(messages, "deadline", c["cadre"].code) == [
        ("T-7", "2027-02-03"), ("T-3", "2027-02-16"), ("T-1", "2027-02-18"), ("T0", "2027-02-19"),
    ]
    async with database.uow() as uow:
        assert await uow.session.get(CalendarYear, 2027) is not None
    assert not [r for r in await outbox_rows(database) if (r.dedup_key or "").startswith("calendar:")]


def test_quiet_hours_span_midnight() -> None:
    rules = tick.Rules()
    from datetime import time

    assert tick.in_quiet_hours(time(21, 0), rules) and tick.in_quiet_hours(time(7, 59), rules)
    assert not tick.in_quiet_hours(time(8, 0), rules) and not tick.in_quiet_hours(time(20, 59), rules)


async def test_a_muted_leader_is_left_out_until_the_date(database, clock) -> None:
    from services.alerts.actions import mute

    c = await county(database, clock)
    a = await add_target(database, c, "R", planned="1000", deadline=date(2026, 12, 31))
    await report(database, a, "300", at(date(2026, 6, 30)), c["cadre"])
    clock.set(at(date(2026, 6, 30), 18))
    await mute("r", 3, 400, update_id=None, uow=database.uow(), clock=clock)
    result = await run(database, at(date(2026, 7, 1)))
    told = {m.person for m in result.messages}
    assert c["leader"].code not in told and c["head"].code in told


async def test_dedup_holds_across_a_restart(database, clock) -> None:
    from models.db import Database

    c = await county(database, clock)
    a = await add_target(database, c, "Y", planned="1000", deadline=date(2026, 12, 31))
    await report(database, a, "400", at(date(2026, 6, 30)), c["cadre"])
    assert (await run(database, at(date(2026, 7, 1)))).messages
    restarted = Database(database.url)  # a new process: nothing in memory, only the database
    try:
        assert (await run(restarted, at(date(2026, 7, 1), 10))).messages == []
    finally:
        await restarted.dispose()
