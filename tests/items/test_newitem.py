"""Opening a supervision item in chat (/newitem and its other doors): units by code, name or class, deadlines in
working days, a leader's instruction as a photo with a caption, 挂牌督办, refusals that keep the step."""

from __future__ import annotations

from datetime import date

import pytest

from models.core import OutboxMessage
from models.inspection import Notice
from models.items import ItemFile, ItemPart, SupervisionItem
from models.plan import Unit
from tests.support.factories import add_unit
from tests.support.itemrig import PNG, county, forge, open_item, pace_alert, rows, told


async def test_an_instruction_with_a_photo_for_a_class_flagged(bot) -> None:
    """The office types the class 村 (V1, V2), a deadline in working days, sends the leader's instruction as a
    photo with its caption, flags the item; every cadre of both villages is told, the photo is the item's."""
    await county(bot.db, bot.clock)
    office, wang = bot.fake.user(500), bot.fake.user(300)
    await office.send_text("/newitem")
    assert "交办给哪些单位" in (await office.wait_reply()).text
    await office.send_text("村")
    assert "青山村、绿水村" in (await office.wait_reply()).text
    await office.send_text("5个工作日")  # Monday 22 March + 5 working days
    assert "2027-03-29" in (await office.wait_reply()).text
    await office.send_photo(PNG, caption="县长批示：3月底前完成村口路灯检修")
    summary = await office.wait_reply()
    assert "县长批示" in summary.text and "附件：1 个" in summary.text and "未挂牌" in summary.text
    await office.press(summary, "ni:flag")
    summary = await office.wait_reply()
    assert "⚑ 挂牌督办：每个工作日提醒" in summary.text and ("取消挂牌", "ni:flag") in summary.buttons()
    await office.press_button(summary, "确认交办")
    assert "已交办督办件 #1：2 个单位，时限 2027-03-29，已通知 3 名干部签收" in (await office.wait_reply()).text
    (item,) = await rows(bot.db, SupervisionItem)
    assert (item.source, item.flagged, item.task, item.deadline) == (
        "instruction", True, "县长批示：3月底前完成村口路灯检修", date(2027, 3, 29))
    (attached,) = await rows(bot.db, ItemFile)
    assert attached.note_id is None and attached.item_id == item.id
    pushed = await told(bot, wang, "新的督办件 #1")
    assert "⚑ 挂牌督办" in pushed.text
    await wang.press_button(pushed, "查看督办件")
    card = await wang.wait_reply()
    assert "附件：1 个" in card.text and "绿水村" in card.text and "青山村" not in card.text  # his unit's part only
    await wang.press_button(card, "附件（1）")
    assert (await wang.wait_reply()).method == "sendPhoto"
    assert len(await rows(bot.db, OutboxMessage, OutboxMessage.kind == "item.assigned")) == 3


@pytest.mark.parametrize(("typed", "says"), [("V9", "找不到这些单位：V9"), ("青山", "对应多个单位"), ("", "")])
async def test_units_that_name_nothing_or_several_keep_the_step(bot, typed, says) -> None:
    await county(bot.db, bot.clock)
    await add_unit(bot.db, bot.clock, code="S2", name="青山镇", kind="township", unit_class="乡镇")
    office = bot.fake.user(500)
    await office.send_text("/newitem")
    await office.wait_reply()
    if typed:
        await office.send_text(typed)
        assert says in (await office.wait_reply()).text
    await office.send_text("v1, 城关镇")  # a code in any case and a name; in code order
    assert "城关镇、青山村" in (await office.wait_reply()).text


@pytest.mark.parametrize(("typed", "deadline"), [("5", "2027-03-29"), ("+3", "2027-03-25"), ("10天", "2027-04-01"),
                                                 ("5 working days", "2027-03-29"), ("2027.4.30", "2027-04-30")])
async def test_deadlines_as_working_days_days_or_dates(bot, typed, deadline) -> None:
    await county(bot.db, bot.clock)
    office = bot.fake.user(500)
    await office.send_text("/newitem")
    await office.wait_reply()
    await office.send_text("V1")
    await office.wait_reply()
    await office.send_text(typed)
    assert f"办理时限：{deadline}" in (await office.wait_reply()).text


async def test_a_photo_without_a_caption_waits_for_the_task(bot) -> None:
    await county(bot.db, bot.clock)
    leader = bot.fake.user(400)
    await leader.send_text("/newitem")
    await leader.wait_reply()
    await leader.send_text("V2")
    await leader.wait_reply()
    await leader.send_text("2027-04-30")
    await leader.wait_reply()
    await leader.send_photo(PNG)
    assert "已收到附件（共 1 个）" in (await leader.wait_reply()).text
    await leader.send_text("按批示整改")
    assert "附件：1 个" in (await leader.wait_reply()).text


async def test_only_leaders_and_the_office_open_items(bot) -> None:
    c = await county(bot.db, bot.clock)
    alert_id = await pace_alert(bot.db, bot.clock, c, told=("liu",))
    zhang, chen = bot.fake.user(200), bot.fake.user(401)
    await zhang.send_text("/newitem")
    assert "只有目标办和县领导" in (await zhang.wait_reply()).text
    await forge(bot, 401, "预警", "督办", f"it:al:{alert_id}")  # a leader never told of this alert
    await chen.press_button(await chen.wait_reply(), "督办")
    assert "没有收到过这条预警" in (await chen.wait_reply()).text
    await forge(bot, 500, "预警", "督办", f"it:al:{alert_id}")  # the office sees every alert
    office = bot.fake.user(500)
    await office.press_button(await office.wait_reply(), "督办")
    assert "村道硬化" in (await office.wait_reply()).text
    assert await rows(bot.db, SupervisionItem) == []


async def test_from_a_published_notice_the_named_units(bot) -> None:
    await county(bot.db, bot.clock)
    async with bot.db.uow() as uow:
        notice = Notice(period="2027-Q1", title="关于2027年第一季度目标任务推进情况的通报", body="……",
                        units=["V2", "S1"], status="published", drafted_by="cli", created_at=bot.clock.now())
        uow.session.add(notice)
        await uow.commit()
    office = bot.fake.user(500)
    await forge(bot, 500, "通报已发布", "督办被通报单位", f"it:nt:{notice.id}")
    await office.press_button(await office.wait_reply(), "督办被通报单位")
    ask = await office.wait_reply()
    assert "督办通报</b> #1" in ask.text and "城关镇、绿水村" in ask.text
    await office.press_button(ask, "就这些单位")
    await office.wait_reply()
    await office.send_text("10")
    task = await office.wait_reply()
    assert "落实通报《关于2027年第一季度目标任务推进情况的通报》要求" in task.text
    await office.press_button(task, "用这段内容")
    await office.press_button(await office.wait_reply(), "确认交办")
    await office.wait_reply()
    (item,) = await rows(bot.db, SupervisionItem)
    assert (item.source, item.notice_id) == ("notice", notice.id)
    ids = {u.code: u.id for u in await rows(bot.db, Unit)}
    assert sorted(p.unit_id for p in await rows(bot.db, ItemPart)) == sorted([ids["V2"], ids["S1"]])


async def test_an_english_admin_opens_an_item_in_english(bot) -> None:
    await county(bot.db, bot.clock)
    sun = bot.fake.user(501, language_code="en")
    await sun.send_text("/newitem")
    assert "Which units?" in (await sun.wait_reply()).text
    await sun.send_text("township")  # a kind, in English
    assert "城关镇" in (await sun.wait_reply()).text
    await sun.send_text("3 working days")
    assert "2027-03-25" in (await sun.wait_reply()).text
    await sun.send_text("Clear the river banks")
    summary = await sun.wait_reply()
    assert "Please confirm" in summary.text
    await sun.press_button(summary, "Confirm")
    assert "assigned to 1 unit(s)" in (await sun.wait_reply()).text
    done = await open_item(bot, sun, units="V1", deadline="2027-04-30", task="Fix the lamps")
    assert "Supervision item #2" in done.text
