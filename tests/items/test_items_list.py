"""/items (督办): each role sees its own open items with lights, oldest red first, a page at a time (the page
buttons read the database again); the office filters by light, unit or opener; the card shows what one may do."""

from __future__ import annotations

from datetime import date, timedelta

from models.people import Person
from services.calendar.workdays import WorkCalendar
from services.items import lifecycle
from tests.support.itemrig import county, told

CAL = WorkCalendar({})


async def add(db, clock, c: dict, opener: str, units: tuple[str, ...], days: int, task: str) -> None:
    """An item opened by ``opener`` with its deadline ``days`` from today (negative: overdue, red)."""
    async with db.uow() as uow:
        s = uow.session
        await lifecycle.open_item(s, clock, await s.get(Person, c[opener].id), source="instruction",
                                  unit_ids=[c[u].id for u in units], deadline=clock.now().date() + timedelta(days=days),
                                  task=task, flagged=False, photos=[], sign_hours=8, cal=CAL)
        await uow.commit()


async def test_each_role_sees_its_own_items_worst_first_a_page_at_a_time(bot) -> None:
    """Twenty items for V1 (deadlines from 10 days overdue to 28 days ahead, by 刘县长), one for V2 (by the
    office). 张三 (V1) sees V1's twenty, red first and the oldest red first, 8 a page; 陈县长 (V2's leader)
    only V2's; 钱督查 (opened none) nothing; the office all, and filtered."""
    c = await county(bot.db, bot.clock)
    for n in range(20):
        await add(bot.db, bot.clock, c, "liu", ("v1",), -10 + 2 * n, f"青山村任务{n:02d}")
    await add(bot.db, bot.clock, c, "office", ("v2",), 30, "绿水村任务")
    await bot.app.bot_data.delivery.settle()  # the pushes of 交办 are out before anyone asks
    zhang = bot.fake.user(200)
    await zhang.send_text("/items")
    first = await zhang.wait_reply()
    assert "<b>本单位的督办件</b>（20 件）🔴 5 🟡 2 🟢 13" in first.text and "第 1/3 页" in first.text
    lines = [line for line in first.text.split("\n") if line.startswith(("🔴", "🟡", "🟢"))]
    assert [line.split()[2] for line in lines] == [f"青山村任务{n:02d}" for n in range(8)]
    assert "已逾期 10 天" in first.text and "绿水村任务" not in first.text
    assert first.buttons()[-1] == ("下一页 »", "it:pg:1:-.-.-.-")
    await zhang.press_button(first, "下一页")
    second = await zhang.wait_edit(first)
    assert "第 2/3 页" in second.text and "青山村任务08" in second.text and "青山村任务00" not in second.text
    assert [t for t, _ in second.buttons()[-2:]] == ["« 上一页", "下一页 »"]
    await add(bot.db, bot.clock, c, "liu", ("v1",), -20, "新来的红灯任务")  # read again at the next press
    await zhang.press_button(second, "« 上一页")
    again = await zhang.wait_edit(second)
    assert "（21 件）" in again.text and again.text.index("新来的红灯任务") < again.text.index("青山村任务00")

    chen, qian, office = bot.fake.user(401), bot.fake.user(600), bot.fake.user(500)
    await chen.send_text("/items")
    mine = await chen.wait_reply()
    assert "联系单位和分管线的督办件</b>（1 件）" in mine.text and "绿水村任务" in mine.text
    await qian.send_text("/items")
    assert "没有待办的督办件" in (await qian.wait_reply()).text
    await office.send_text("/items")
    assert "<b>全部督办件</b>（22 件）" in (await office.wait_reply()).text
    await office.send_text("/items 红")
    red = await office.wait_reply()
    assert "（6 件）" in red.text and "🟢" not in red.text.split("\n", 2)[2] and "筛选：红" in red.text
    await office.send_text("/items V2")
    assert "（1 件）" in (only_v2 := await office.wait_reply()).text and "绿水村任务" in only_v2.text
    await office.send_text("/items 刘县长 green")
    assert "（13 件）" in (await office.wait_reply()).text
    await office.send_text("/items 紫")
    assert "“紫”不是灯色" in (await office.wait_reply()).text


async def test_the_card_shows_each_part_and_what_the_reader_may_do(bot) -> None:
    c = await county(bot.db, bot.clock)
    await add(bot.db, bot.clock, c, "liu", ("v1", "v2"), 10, "两村共同整治河道")
    zhang, liu, wang = bot.fake.user(200), bot.fake.user(400), bot.fake.user(300)
    await told(bot, zhang, "新的督办件")
    await told(bot, wang, "新的督办件")
    await zhang.send_text("/items")
    await zhang.press_button(await zhang.wait_reply(), "#1")
    card = await zhang.wait_reply()
    assert "督办件 #1" in card.text and "两村共同整治河道" in card.text and "刘县长" in card.text
    assert "青山村" in card.text and "绿水村" not in card.text and "待签收（请于 2027-03-22 17:00 前签收）" in card.text
    assert card.buttons() == [("签收 · 青山村", "it:sign:1")]
    await zhang.press_button(card, "签收 · 青山村")
    assert "已签收" in (await zhang.wait_reply()).text
    await liu.send_text("/items")
    await liu.press_button(await liu.wait_reply(), "#1")
    opener = await liu.wait_reply()  # the opener sees every part, and may not sign
    assert "🟢 <b>青山村</b>：办理中（张三" in opener.text and "🟢 <b>绿水村</b>：待签收" in opener.text
    assert opener.buttons() == []
    bot.clock.set(bot.clock.now() + timedelta(hours=9))  # past 17:00: 绿水村 signed too late
    await wang.send_text("/items")
    await wang.press_button(await wang.wait_reply(), "#1")
    assert "未按时签收" in (late := await wang.wait_reply()).text and late.text.startswith("🟡")
    assert date(2027, 3, 22) == bot.clock.now().date()
