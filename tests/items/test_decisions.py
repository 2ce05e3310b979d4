"""核查 beyond approval: a rejection closes a part as not done, the office may verify a leader's item, the
opener hears when someone else closes it; the criticism notice names the items red on its cut-off day."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from models.core import EvidenceFile
from models.people import Person
from services.calendar.workdays import WorkCalendar
from services.core.clock import FixedClock
from services.inspection.notice_draft import compose, gather, parse_period
from services.items import lifecycle
from tests.support.itemrig import TZ, audits, county, forge, items, parts, report_done, told


async def opened_and_reported(bot, c: dict, zhang) -> None:
    """刘县长 opens an item for V1 (deadline in 10 days); 张三 signs and reports it done with a photo."""
    async with bot.db.uow() as uow:
        s = uow.session
        await lifecycle.open_item(s, bot.clock, await s.get(Person, c["liu"].id), source="instruction",
                                  unit_ids=[c["v1"].id], deadline=bot.clock.now().date() + timedelta(days=10),
                                  task="修缮村委会屋顶", flagged=False, photos=[], sign_hours=8, cal=WorkCalendar({}))
        await uow.commit()
    await told(bot, zhang, "新的督办件")
    await lifecycle.sign(1, user_id=200, update_id=None, uow=bot.db.uow(), clock=bot.clock)
    await report_done(bot, zhang, 1, note="屋顶已修缮")


async def test_a_rejection_closes_the_part_as_not_done(bot) -> None:
    c = await county(bot.db, bot.clock)
    liu, zhang = bot.fake.user(400), bot.fake.user(200)
    await opened_and_reported(bot, c, zhang)
    review = await told(bot, liu, "待核查")
    await liu.press_button(review, "不予销号")
    assert "不予销号的理由" in (await liu.wait_reply()).text
    await liu.send_text("照片是去年的，屋顶并未修缮")
    done = await liu.wait_reply()
    assert "已不予销号" in done.text and "督办件已关闭" in done.text
    (part,) = await parts(bot.db)
    assert (part.state, part.decision_note) == ("rejected", "照片是去年的，屋顶并未修缮") and part.closed_at
    assert (await items(bot.db))[0].state == "closed" and await audits(bot.db, "item.reject")
    assert "照片是去年的" in (await told(bot, zhang, "不予销号")).text
    await zhang.send_text("/items")
    assert "没有待办的督办件" in (await zhang.wait_reply()).text


async def test_the_office_verifies_a_leaders_item_and_the_leader_hears_it_closed(bot) -> None:
    c = await county(bot.db, bot.clock)
    await opened_and_reported(bot, c, bot.fake.user(200))
    sun, liu = bot.fake.user(501, language_code="en"), bot.fake.user(400)
    await forge(bot, 501, "item", "view", "it:view:1")
    await sun.press_button(await sun.wait_reply(), "view")
    card = await sun.wait_reply()
    assert "reported done" in card.text and ("Approve · 青山村", "it:ok:1:1") in card.buttons()
    await sun.press_button(card, "Files · 青山村")
    assert (await sun.wait_reply()).method == "sendPhoto"
    await sun.press_button(card, "Approve · 青山村")
    assert "Supervision item #1 is closed" in (await sun.wait_reply()).text
    assert "最后由 Director Sun 核查" in (await told(bot, liu, "督办件已关闭")).text


async def test_the_notice_names_items_red_on_its_cut_off_day(database, clock) -> None:
    """Q1 2027, drafted on 22 March: an instruction for V2 due 15 March and not done is red; one for V1 due
    the same day but reported on 14 March awaits verification (not red); one for S1 due 30 March is not late."""
    c = await county(database, clock)
    opened = FixedClock(datetime(2027, 3, 1, 9, tzinfo=TZ))
    async with database.uow() as uow:
        s = uow.session
        liu = await s.get(Person, c["liu"].id)
        for units, deadline in ((("v2",), date(2027, 3, 15)), (("v1",), date(2027, 3, 15)),
                                (("s1",), date(2027, 3, 30))):
            await lifecycle.open_item(s, opened, liu, source="instruction", unit_ids=[c[u].id for u in units],
                                      deadline=deadline, task="整治村容村貌，清理乱堆乱放", flagged=False, photos=[],
                                      sign_hours=8, cal=WorkCalendar({}))
        evidence = EvidenceFile(sha256="e" * 64, size=1, storage_key="e/e", telegram_file_id="e",
                                created_at=opened.now())
        s.add(evidence)
        await s.flush()
        await uow.commit()
    reported = FixedClock(datetime(2027, 3, 14, 10, tzinfo=TZ))
    await lifecycle.sign(2, user_id=200, update_id=None, uow=database.uow(), clock=reported)
    async with database.uow() as uow:
        s = uow.session
        await lifecycle.write_note(s, reported, await s.get(Person, c["zhang"].id), 2, "report", "已整治",
                                   [evidence.id])
        await uow.commit()
    async with database.uow() as uow:
        findings = await gather(uow.session, parse_period("2027-Q1"), today=date(2027, 3, 22), tz=TZ)
    kinds = {u.code: [f.kind for f in u.facts] for u in findings.units}
    assert kinds == {"V1": ["pace"], "V2": ["item"]}  # V1: its target T1 is behind, its item awaits verification
    assert findings.red_items == 1 and findings.overdue_items == 0
    _, body = compose(findings, date(2027, 3, 22))
    assert ("督办事项“整治村容村貌，清理乱堆乱放”（督办件第1号），办理时限为2027年3月15日，截至2027年3月22日已逾期7天，"
            "仍未办结销号。") in body
    assert "逾期未办结督办事项1项" in body
