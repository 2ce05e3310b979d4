"""Reminders of supervision items in the scheduler's tick (alerts of kind ``item``), day by day in spring 2027
(no official calendar yet: Monday to Friday are the working days; acknowledgement time 1 working day)."""

from __future__ import annotations

from datetime import date, timedelta

from models.alerts import Alert
from models.core import EvidenceFile
from models.people import Person
from services.alerts import actions, tick
from services.calendar.workdays import WorkCalendar
from services.core.clock import FixedClock
from services.items import lifecycle
from tests.support.itemrig import at, county, open_item, rows, told

CAL = WorkCalendar({})


async def open_direct(db, clock, c: dict, units: tuple[str, ...], deadline: date, *, flagged: bool = False,
                      signed: bool = False) -> int:
    """An item opened by 刘县长 at the clock's time (8 working hours to sign), signed by the units' cadres if asked."""
    async with db.uow() as uow:
        s = uow.session
        opener = await s.get(Person, c["liu"].id)
        item, _ = await lifecycle.open_item(s, clock, opener, source="instruction",
                                            unit_ids=[c[u].id for u in units], deadline=deadline, task="清理河道垃圾",
                                            flagged=flagged, photos=[], sign_hours=8, cal=CAL)
        await uow.commit()
    if signed:
        for part_id in range(1, len(units) + 1):
            await lifecycle.sign(part_id, user_id={1: 200, 2: 300}[part_id], update_id=None, uow=db.uow(), clock=clock)
    return item.id or 0


async def day_by_day(db, start: date, end: date, hour: int = 9) -> dict[date, set[tuple[str, str]]]:
    """A tick at ``hour`` each day: who was told which step (the key's third part) of an item, per day."""
    out = {}
    day = start
    while day <= end:
        result = await tick.tick(at(day, hour), uow=db.uow())
        out[day] = {(m.person, m.key.split("|")[2]) for m in result.messages if m.kind == "item"}
        day += timedelta(days=1)
    return out


async def test_a_flagged_item_reminds_every_working_day_and_copies_the_linked_leader(database, clock) -> None:
    """Flagged, deadline Wed 31 March, never signed. Every working day 张三 and Li Si (V1's cadres) and 刘县长
    (V1's linked leader) hear of it, none at the weekend; from Thu 1 April it is red, and once red for one
    working day (Thu 1 April counts one since Wed 31 March) the office (目标办, Director Sun) is copied too."""
    c = await county(database, clock)
    await open_direct(database, clock, c, ("v1",), date(2027, 3, 31), flagged=True)
    seen = await day_by_day(database, date(2027, 3, 23), date(2027, 4, 2))
    unit_and_leader = {(c[k].code, "daily") for k in ("zhang", "li", "liu")}
    for day in (date(2027, 3, d) for d in (23, 24, 25, 26, 29, 30, 31)):
        assert seen[day] == unit_and_leader, day
    assert seen[date(2027, 3, 27)] == seen[date(2027, 3, 28)] == set()
    with_office = unit_and_leader | {(c[k].code, "daily") for k in ("office", "sun")}
    assert seen[date(2027, 4, 1)] == seen[date(2027, 4, 2)] == with_office
    result = await tick.tick(at(date(2027, 4, 2), 15), uow=database.uow())  # later the same day: nothing new
    assert [m for m in result.messages if m.kind == "item"] == []
    texts = {m.person: m.text for m in (await tick.tick(at(date(2027, 4, 5)), uow=database.uow())).messages}
    assert texts[c["zhang"].code].startswith("🔴 #") and "挂牌督办件 #1（青山村）每日提醒" in texts[c["zhang"].code]
    assert "尚未签收" in texts[c["zhang"].code] and "Flagged supervision item #1" in texts[c["li"].code]
    daily = [a for a in await rows(database, Alert) if a.key.startswith("item|p1|daily|")]
    assert [a.state for a in daily].count("open") == 1  # yesterday's reminders are resolved


async def test_the_usual_steps_then_overdue_climbing_for_an_item_not_flagged(database, clock) -> None:
    """Deadline Fri 2 April, signed at once. The cadres hear 7, 3 and 1 working days before (Wed 24 March,
    Tue 30 March, Thu 1 April) and on the day; on Mon 5 April it is overdue: the cadres; unacknowledged one
    working day later (Tue 6) 刘县长, the next (Wed 7) the office. /alerts lists it for the cadre and the
    office; reported done, it is resolved."""
    c = await county(database, clock)
    await open_direct(database, clock, c, ("v1",), date(2027, 4, 2), signed=True)
    seen = await day_by_day(database, date(2027, 3, 22), date(2027, 4, 8))
    cadres = {c["zhang"].code, c["li"].code}
    told = {day: who for day, who in seen.items() if who}
    assert told == {
        date(2027, 3, 24): {(p, "T-7") for p in cadres}, date(2027, 3, 30): {(p, "T-3") for p in cadres},
        date(2027, 4, 1): {(p, "T-1") for p in cadres}, date(2027, 4, 2): {(p, "T0") for p in cadres},
        date(2027, 4, 5): {(p, "overdue") for p in cadres}, date(2027, 4, 6): {(c["liu"].code, "overdue")},
        date(2027, 4, 7): {(c["office"].code, "overdue"), (c["sun"].code, "overdue")},
    }
    for who in (c["zhang"], c["office"]):
        listed = await actions.list_alerts(who.telegram_user_id, uow=database.read_uow(),
                                           clock=FixedClock(at(date(2027, 4, 7))))
        assert ("item", "清理河道垃圾", "青山村") in {(x.alert.kind, x.title, x.unit) for x in listed}
    async with database.uow() as uow:
        s, later = uow.session, FixedClock(at(date(2027, 4, 8)))
        evidence = EvidenceFile(sha256="a" * 64, size=1, storage_key="aa/x", telegram_file_id="f",
                                created_at=later.now())
        s.add(evidence)
        await s.flush()
        await lifecycle.write_note(s, later, await s.get(Person, c["zhang"].id), 1, "report", "已清理", [evidence.id])
        await uow.commit()
    after = await tick.tick(at(date(2027, 4, 8), 10), uow=database.uow())
    assert [m for m in after.messages if m.kind == "item"] == []
    assert {a.state for a in await rows(database, Alert) if a.kind == "item"} == {"resolved"}


async def test_a_late_signature_climbs_to_the_linked_leader_and_signing_stops_it(database, clock) -> None:
    """Opened Mon 22 March 09:00 for V1 and V2 (8 working hours: due 17:00 that day), deadline 30 April.
    At 16:59 nothing; at 17:00 each unit's cadres and its own linked leader (V1: 刘县长, V2: 陈县长); V2's
    王五 signs; the next day, unacknowledged, V1's reminder reaches the office, V2's is resolved."""
    c = await county(database, clock)
    await open_direct(database, clock, c, ("v1", "v2"), date(2027, 4, 30))
    early = await tick.tick(at(date(2027, 3, 22), 16, 59), uow=database.uow())
    assert [m for m in early.messages if m.kind == "item"] == []
    late = await tick.tick(at(date(2027, 3, 22), 17), uow=database.uow())
    assert {(m.person, m.key.split("|")[1]) for m in late.messages if m.kind == "item"} == {
        (c["zhang"].code, "p1"), (c["li"].code, "p1"), (c["liu"].code, "p1"), (c["wang"].code, "p2"),
        (c["chen"].code, "p2")}
    assert all("未按时签收" in m.text for m in late.messages if m.person == c["zhang"].code)
    await lifecycle.sign(2, user_id=300, update_id=None, uow=database.uow(), clock=FixedClock(at(date(2027, 3, 23))))
    next_day = await tick.tick(at(date(2027, 3, 23), 17), uow=database.uow())
    assert {(m.person, m.key.split("|")[1]) for m in next_day.messages if m.kind == "item"} == {
        (c["office"].code, "p1"), (c["sun"].code, "p1")}
    states = {a.key.split("|")[1]: a.state for a in await rows(database, Alert) if a.kind == "item"}
    assert states == {"p1": "open", "p2": "resolved"}


async def test_nothing_is_reminded_in_quiet_hours(database, clock) -> None:
    c = await county(database, clock)
    await open_direct(database, clock, c, ("v1",), date(2027, 3, 23), flagged=True)
    result = await tick.tick(at(date(2027, 3, 22), 22), uow=database.uow())
    assert [m for m in result.messages if m.kind == "item"] == [] and await rows(database, Alert) == []


async def test_a_flagged_items_daily_reminder_reaches_the_unit_and_its_leader_in_chat(bot) -> None:
    """Through the fake Bot API: flagged by the office on Monday, the next two working mornings 张三 (V1) and
    刘县长 (V1's linked leader) get the daily reminder in chat; signed on Wednesday, it says so no more."""
    c = await county(bot.db, bot.clock)
    zhang, liu, office = bot.fake.user(200), bot.fake.user(400), bot.fake.user(500)
    await open_item(bot, office, units="V1", deadline="5", task="拆除违章搭建", flag=True)
    pushed = await told(bot, zhang, "新的督办件 #1")
    for day in (23, 24):
        bot.clock.set(at(date(2027, 3, day)))
        await tick.tick(bot.clock.now(), uow=bot.db.uow())
        # Day one it shares 张三's push with the village's other alerts (a line); day two it is alone (in full).
        reminder = await told(bot, zhang, "拆除违章搭建")
        assert "挂牌督办" in reminder.text and "督办件 #1" in reminder.text and len(reminder.text) <= 600
        copied = await told(bot, liu, "青山村")
        if day == 23:  # with the village's pace alert: a leader's push is grouped by unit, its list names each
            await liu.press(copied, next(d for _, d in copied.buttons() if d.startswith("al:ls:")))
            copied = await liu.wait_reply()
        assert "拆除违章搭建" in copied.text and "挂牌督办" in copied.text
    await zhang.press_button(pushed, "签收")
    await zhang.wait_reply()
    bot.clock.set(at(date(2027, 3, 25)))
    result = await tick.tick(bot.clock.now(), uow=bot.db.uow())
    reminded = [m for m in result.messages if m.kind == "item"]
    assert {m.person for m in reminded} == {c["zhang"].code, c["li"].code, c["liu"].code}
    assert not any("尚未签收" in m.text for m in reminded)
