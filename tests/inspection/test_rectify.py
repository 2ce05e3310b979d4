"""整改 through the fake Bot API: a rectification is a supervision item opened from an inspection — opened by its
inspector, signed for and reported done with photos by a cadre of the unit, approved or sent back by the
inspector; /rectify lists them; refusals; a restart mid-report."""

from __future__ import annotations

from datetime import date, timedelta
from unittest.mock import AsyncMock

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.app.persistence import DbPersistence
from models.core import EvidenceFile, OutboxMessage
from models.enums import Role
from models.inspection import Inspection
from models.items import ItemFile, ItemPart, SupervisionItem
from services.core.errors import DomainError
from services.items import lifecycle
from tests.support.botrig import running_bot
from tests.support.factories import add_person, add_unit
from tests.support.itemrig import audits, rows, told

PNG = b"\x89PNG\r\n\x1a\n" + b"fixed street lamp" * 20
PNG2 = b"\x89PNG\r\n\x1a\n" + b"new guard rail" * 20
FINDINGS = "村口路灯损坏，护栏缺失"
PROBLEM = "修复村口路灯并补装护栏"


async def seed(rig) -> dict:
    """青山村 V1 (cadres 张三 zh, 李四 en, 王五 of another village); inspectors 钱督查 and 孙督查 (zh),
    Inspector Wu (en); an inspection of V1 by each inspector."""
    v1, v2 = await add_unit(rig.db, rig.clock, code="V1", name="青山村"), await add_unit(rig.db, rig.clock, code="V2")
    p = {"v1": v1}
    for key, name, tg, unit, lang in (("zhang", "张三", 200, v1, None), ("li", "李四", 201, v1, "en"),
                                      ("wang", "王五", 300, v2, None)):
        p[key] = await add_person(rig.db, rig.clock, name=name, unit=unit, telegram_user_id=tg, language=lang)
    for key, name, tg, lang in (("qian", "钱督查", 500, None), ("sun", "孙督查", 501, None),
                                ("wu", "Inspector Wu", 502, "en")):
        p[key] = await add_person(rig.db, rig.clock, name=name, roles=(Role.INSPECTOR,), telegram_user_id=tg,
                                  language=lang)
    async with rig.db.uow() as uow:
        visits = {f"insp_{k}": Inspection(inspector_person_id=p[k].id, unit_id=v1.id, visited_at=rig.clock.now(),
                                          rating="poor", findings=FINDINGS) for k in ("qian", "sun", "wu")}
        uow.session.add_all(visits.values())
        await uow.commit()
    return p | {key: visit.id for key, visit in visits.items()}


async def add_items(rig, p: dict, *specs: tuple[int, str, str]) -> None:
    """Items from 钱督查's visit, signed by 张三: (days from today to the deadline, part state, task)."""
    async with rig.db.uow() as uow:
        for days, state, text in specs:
            item = SupervisionItem(source="inspection", inspection_id=p["insp_qian"], task=text,
                                   deadline=rig.clock.now().date() + timedelta(days=days),
                                   opened_by_person_id=p["qian"].id, created_at=rig.clock.now(),
                                   state="closed" if state == "closed" else "open")
            uow.session.add(item)
            await uow.session.flush()
            uow.session.add(ItemPart(item_id=item.id, unit_id=p["v1"].id, state=state, assigned_at=rig.clock.now(),
                                     sign_due_at=rig.clock.now(), signed_at=rig.clock.now(),
                                     signed_by_person_id=p["zhang"].id, reports=int(state != "signed"),
                                     reported_at=rig.clock.now() if state != "signed" else None))
        await uow.commit()


async def to_task(inspector, inspection_id: int, deadline: str = "+14"):
    """/rectify_new and the deadline; returns the question for the task."""
    await inspector.send_text(f"/rectify_new {inspection_id}")
    await inspector.wait_reply()
    await inspector.send_text(deadline)
    return await inspector.wait_reply()


async def open_item(bot, inspector, inspection_id: int, deadline: str = "+14"):
    """The inspector's whole opening dialogue."""
    await to_task(inspector, inspection_id, deadline)
    await inspector.send_text(PROBLEM)
    await inspector.press_button(await inspector.wait_reply(), "确认交办")
    done = await inspector.wait_reply()
    await bot.app.bot_data.delivery.settle()  # the unit's cadres are told before they act
    return done


async def sign(bot, cadre):
    """The cadre presses Sign on the push of the newest item."""
    pushed = await told(bot, cadre, "新的督办件")
    await cadre.press_button(pushed, "签收")
    return await cadre.wait_reply()


async def start_report(cadre, note: str = "路灯已修好，护栏已补装"):
    """/rectify, the item, 报办结 on its card, the note; returns the question for the photos."""
    await cadre.send_text("/rectify")
    listed = await cadre.wait_reply()
    await cadre.press(listed, listed.buttons()[0][1])
    card = await cadre.wait_reply()
    await cadre.press(card, next(d for _, d in card.buttons() if d.startswith("it:done:")))
    await cadre.wait_reply()
    await cadre.send_text(note)
    return await cadre.wait_reply()


async def report(bot, cadre, photos=(PNG,), note: str = "路灯已修好，护栏已补装"):
    """The cadre's whole completion report from /rectify."""
    await start_report(cadre, note)
    for data in photos:
        await cadre.send_photo(data)
        await cadre.wait_reply()
    await cadre.send_text("/done")
    await cadre.press_button(await cadre.wait_reply(), "确认提交")
    done = await cadre.wait_reply()
    await bot.app.bot_data.delivery.settle()
    return done


async def test_the_full_loop_to_acceptance(bot) -> None:
    p = await seed(bot)
    qian, zhang = bot.fake.user(500), bot.fake.user(200)
    await bot.app.bot.send_message(500, "督查已确认", reply_markup=InlineKeyboardMarkup(  # what /inspect adds
        [[InlineKeyboardButton("开整改单", callback_data=f"rect:new:{p['insp_qian']}")]]))
    await qian.press_button(await qian.wait_reply(), "开整改单")
    ask = await qian.wait_reply()
    assert "青山村" in ask.text and FINDINGS in ask.text and "办理时限" in ask.text  # the unit is the visit's
    await qian.send_text("+14")
    task = await qian.wait_reply()
    assert "2027-04-05" in task.text and FINDINGS in task.text and ("用这段内容", "ni:keep:task") in task.buttons()
    await qian.send_text(PROBLEM)
    summary = await qian.wait_reply()
    assert PROBLEM in summary.text and "青山村" in summary.text and "2027-04-05" in summary.text
    assert await rows(bot.db, SupervisionItem) == []  # nothing before Confirm
    await qian.press_button(summary, "确认交办")
    assert "已交办督办件 #1" in (await qian.wait_reply()).text
    (item,) = await rows(bot.db, SupervisionItem)
    assert (item.source, item.inspection_id, item.deadline, item.opened_by_person_id) == (
        "inspection", p["insp_qian"], date(2027, 4, 5), p["qian"].id)
    assert (await audits(bot.db, "item.open"))[0].entity_key == str(item.id)
    # The unit's cadres are told (both who joined); the one who signs answers for it.
    assert sorted(m.chat_id for m in await rows(bot.db, OutboxMessage, OutboxMessage.kind == "item.assigned")) == [
        200, 201]
    assert "已签收" in (await sign(bot, zhang)).text

    await zhang.send_text("/rectify")
    listed = await zhang.wait_reply()
    assert PROBLEM in listed.text and "还剩 14 天" in listed.text and "张三" in listed.text
    await start_report(zhang)
    await zhang.send_photo(PNG)
    assert "已收到 1 个" in (await zhang.wait_reply()).text
    await zhang.send_document(PNG2, "护栏.png", "image/png")
    assert "已收到 2 个" in (await zhang.wait_reply()).text
    await zhang.send_document(PNG2, "护栏副本.png", "image/png")  # the same bytes again
    assert "已收到 2 个" in (await zhang.wait_reply()).text
    await zhang.send_text("/done")
    closing = await zhang.wait_reply()
    assert "路灯已修好" in closing.text and "2 个" in closing.text
    await zhang.press_button(closing, "确认提交")
    assert "等待 钱督查 核查" in (await zhang.wait_reply()).text
    (part,) = await rows(bot.db, ItemPart)
    assert (part.state, part.reports) == ("reported", 1) and part.reported_at
    assert len(await rows(bot.db, ItemFile)) == 2 and len(await rows(bot.db, EvidenceFile)) == 2

    review = await told(bot, qian, "待核查")
    assert "路灯已修好" in review.text and "张三" in review.text
    await qian.press_button(review, "查看材料")
    shown = await qian.wait_replies(2)
    assert [m.method for m in shown] == ["sendPhoto", "sendPhoto"]
    await qian.press_button(review, "通过，销号")
    assert "已核查通过" in (await qian.wait_reply()).text
    (item,) = await rows(bot.db, SupervisionItem)
    assert item.state == "closed" and (await rows(bot.db, ItemPart))[0].state == "closed"
    assert len(await audits(bot.db, "item.approve")) == 1
    await told(bot, zhang, "已销号")
    await zhang.send_text("/rectify")
    assert "没有待办的整改事项" in (await zhang.wait_reply()).text


async def test_issues_reach_the_unit_then_a_second_report_is_approved(bot) -> None:
    p = await seed(bot)
    qian, zhang = bot.fake.user(500), bot.fake.user(200)
    await open_item(bot, qian, p["insp_qian"])
    await sign(bot, zhang)
    await report(bot, zhang)
    review = await told(bot, qian, "待核查")
    await qian.press_button(review, "有问题，退回")
    assert "请输入核查发现的问题" in (await qian.wait_reply()).text
    await qian.send_text("x")  # too short: the step stays
    assert "至少" in (await qian.wait_reply()).text
    await qian.send_text("护栏高度不够，请按标准重新安装")
    assert "已退回" in (await qian.wait_reply()).text
    (part,) = await rows(bot.db, ItemPart)
    assert (part.state, part.returns, part.decision_note) == ("signed", 1, "护栏高度不够，请按标准重新安装")
    assert len(await audits(bot.db, "item.issues")) == 1
    assert "护栏高度不够" in (await told(bot, zhang, "存在问题")).text  # the comment reaches the unit
    await zhang.send_text("/rectify")
    assert "已退回 1 次" in (await zhang.wait_reply()).text
    await report(bot, zhang, photos=(PNG2,), note="护栏已按标准重新安装")
    again = await told(bot, qian, "此前已退回 1 次")
    assert "护栏已按标准重新安装" in again.text and "护栏高度不够" in again.text
    await qian.press_button(review, "通过，销号")  # the old message: decided already, nothing changes
    assert "已经处理过" in (await qian.wait_callback_answer())["text"]
    assert (await rows(bot.db, ItemPart))[0].state == "reported"
    await qian.press_button(again, "通过，销号")
    assert "已核查通过" in (await qian.wait_reply()).text
    assert (await rows(bot.db, ItemPart))[0].state == "closed"


async def test_rectify_lists_for_the_unit_and_the_inspector_with_deadlines_marked(bot) -> None:
    p = await seed(bot)
    await add_items(bot, p, (-3, "signed", "逾期的事项"), (0, "signed", "今天到期的事项"),
                    (5, "reported", "已报办结的事项"), (9, "closed", "已销号的事项"))
    zhang, qian, wang = bot.fake.user(200), bot.fake.user(500), bot.fake.user(300)
    await zhang.send_text("/rectify")
    mine = await zhang.wait_reply()
    assert "已逾期 3 天" in mine.text and "今天到期" in mine.text and "等待 钱督查 核查" in mine.text
    assert "已销号的事项" not in mine.text and "🔴" in mine.text
    assert [d for _, d in mine.buttons()] == ["it:view:1", "it:view:2", "it:view:3"]  # red first
    await qian.send_text("/rectify")
    theirs = await qian.wait_reply()
    assert "已报办结的事项" in theirs.text and "逾期的事项" in theirs.text
    await wang.send_text("/rectify")
    assert "没有待办" in (await wang.wait_reply()).text


async def test_a_report_needs_evidence_and_cancel_writes_nothing(bot) -> None:
    p = await seed(bot)
    qian, zhang = bot.fake.user(500), bot.fake.user(200)
    await open_item(bot, qian, p["insp_qian"])
    await sign(bot, zhang)
    await zhang.press_button(await start_report(zhang), "完成")
    assert "至少需要一个佐证材料" in (await zhang.wait_reply()).text
    await zhang.send_text("/done")
    assert "至少需要一个佐证材料" in (await zhang.wait_reply()).text
    await zhang.send_document(b"PK\x03\x04 archive", "材料.zip", "application/zip")
    assert "只接受照片、PDF" in (await zhang.wait_reply()).text
    await zhang.send_text("好了")  # not a file: the step is asked again
    assert "已收到 0 个" in (await zhang.wait_replies(2))[1].text
    await zhang.send_document(b"%PDF-1.4 report", "整改报告.pdf", "application/pdf")  # a scanned report counts
    await zhang.wait_reply()
    await zhang.send_text("/done")
    assert "请确认报办结" in (await zhang.wait_reply()).text
    await zhang.send_text("/cancel")
    assert "已取消" in (await zhang.wait_reply()).text
    (part,) = await rows(bot.db, ItemPart)
    assert part.state == "signed" and part.reports == 0 and await rows(bot.db, ItemFile) == []
    assert await rows(bot.db, OutboxMessage, OutboxMessage.kind == "item.reported") == []


async def test_only_the_opener_or_the_office_verifies_and_a_second_press_changes_nothing(bot) -> None:
    p = await seed(bot)
    qian, zhang = bot.fake.user(500), bot.fake.user(200)
    await open_item(bot, qian, p["insp_qian"])
    await sign(bot, zhang)
    await report(bot, zhang)
    review = await told(bot, qian, "待核查")
    (part,) = await rows(bot.db, ItemPart)
    with pytest.raises(DomainError) as refused:  # another inspector
        await lifecycle.approve(part.id, user_id=501, update_id=None, uow=bot.db.uow(), clock=bot.clock)
    assert refused.value.key == "items.not_verifier"
    approve = next(d for t, d in review.buttons() if t == "通过，销号")
    await qian.press(review, approve)
    await qian.press(review, approve)  # before the keyboard disappears
    await qian.wait_reply()
    assert "已经处理过" in (await qian.wait_callback_answer())["text"]
    assert (await rows(bot.db, ItemPart))[0].state == "closed"
    assert len(await audits(bot.db, "item.approve")) == 1
    assert len(await rows(bot.db, OutboxMessage, OutboxMessage.kind == "item.decided")) == 2  # 张三, 李四


async def test_only_the_units_cadres_act_and_only_the_inspector_opens(bot) -> None:
    p = await seed(bot)
    qian, wang, sun = bot.fake.user(500), bot.fake.user(300), bot.fake.user(501)
    await open_item(bot, qian, p["insp_qian"])
    (part,) = await rows(bot.db, ItemPart)
    await bot.app.bot.send_message(300, "督办件", reply_markup=InlineKeyboardMarkup(
        [[InlineKeyboardButton("签收", callback_data=f"it:sign:{part.id}")]]))
    await wang.press_button(await wang.wait_reply(), "签收")  # a cadre of another village
    assert "不是交办给您所在单位的" in (await wang.wait_callback_answer())["text"]
    assert (await rows(bot.db, ItemPart))[0].state == "assigned"
    await sun.send_text(f"/rectify_new {p['insp_qian']}")  # not his inspection
    assert "不是您做的督查" in (await sun.wait_reply()).text
    await sun.send_text("/rectify_new")
    assert "用法" in (await sun.wait_reply()).text
    assert len(await rows(bot.db, SupervisionItem)) == 1


@pytest.mark.parametrize(("typed", "says"), [*[(t, "不是有效的时限") for t in ("下个月", "2027-02-30", "2027/13/1")],
                                           ("+abc", "不是有效的时限"), ("2027-03-21", "早于今天"),
                                           ("2026年12月31日", "早于今天"), ("0", "工作日数应为"),
                                           ("2031-01-01", "太远")])
async def test_bad_deadlines_are_explained_and_keep_the_step(bot, typed, says) -> None:
    p = await seed(bot)
    qian = bot.fake.user(500)
    await qian.send_text(f"/rectify_new {p['insp_qian']}")
    await qian.wait_reply()
    await qian.send_text(typed)
    assert says in (await qian.wait_reply()).text
    await qian.send_text("２０２７年４月３０日")
    assert "2027-04-30" in (await qian.wait_reply()).text


@pytest.mark.parametrize("stop_at", ["deadline", "task", "summary", "summary_button"])
async def test_cancel_while_opening_writes_nothing(bot, stop_at) -> None:
    p = await seed(bot)
    qian = bot.fake.user(500)
    if stop_at == "deadline":
        await qian.send_text(f"/rectify_new {p['insp_qian']}")
        await qian.wait_reply()
    else:
        await to_task(qian, p["insp_qian"])
    if stop_at.startswith("summary"):
        await qian.send_text(PROBLEM)
        summary = await qian.wait_reply()
    if stop_at == "summary_button":
        await qian.press_button(summary, "取消")
    else:
        await qian.send_text("/cancel")
    assert "已取消" in (await qian.wait_reply()).text
    assert await rows(bot.db, SupervisionItem) == [] and await rows(bot.db, OutboxMessage) == []
    await qian.send_text(PROBLEM)  # no dialogue any more
    assert "没有听懂" in (await qian.wait_reply()).text


async def test_confirm_pressed_twice_opens_one_item(bot) -> None:
    p = await seed(bot)
    qian = bot.fake.user(500)
    await to_task(qian, p["insp_qian"], "2027/4/30")
    await qian.send_text(PROBLEM)
    summary = await qian.wait_reply()
    data = next(d for t, d in summary.buttons() if t == "确认交办")
    await qian.press(summary, data)
    await qian.press(summary, data)
    first, second = await qian.wait_replies(2)
    assert "已交办督办件 #1" in first.text and first.text == second.text
    assert len(await rows(bot.db, SupervisionItem)) == 1
    assert len(await rows(bot.db, OutboxMessage, OutboxMessage.kind == "item.assigned")) == 2
    assert len(await audits(bot.db, "item.open")) == 1


async def test_english_users_get_english(bot) -> None:
    p = await seed(bot)
    wu, li = bot.fake.user(502, language_code="en"), bot.fake.user(201, language_code="en")
    assert "What is to be done" in (await to_task(wu, p["insp_wu"], "+7")).text
    await wu.send_text("Fix the street lamp")
    summary = await wu.wait_reply()
    assert "Please confirm" in summary.text and "2027-03-29" in summary.text
    await wu.press_button(summary, "Confirm")
    assert "assigned to 1 unit" in (await wu.wait_reply()).text
    pushed = await told(bot, li, "New supervision item")
    assert "Fix the street lamp" in pushed.text
    await li.press_button(pushed, "Sign for it")
    assert "Signed for" in (await li.wait_reply()).text
    await li.send_text("/rectify")
    assert "Rectification items" in (await li.wait_reply()).text


async def test_a_new_application_continues_the_report_at_the_same_step(rig, monkeypatch) -> None:
    monkeypatch.setattr(DbPersistence, "update_conversation", AsyncMock())  # PTB's own writes never happen
    p = await seed(rig)
    qian, zhang = rig.fake.user(500), rig.fake.user(200)
    async with running_bot(rig):
        await open_item(rig, qian, p["insp_qian"])
        await sign(rig, zhang)
        await start_report(zhang)
        await zhang.send_photo(PNG)
        await zhang.wait_reply()
    async with running_bot(rig):
        await zhang.send_text("/done")
        await zhang.press_button(await zhang.wait_reply(), "确认提交")
        assert "等待 钱督查 核查" in (await zhang.wait_reply()).text
    (part,) = await rows(rig.db, ItemPart)
    assert part.state == "reported" and len(await rows(rig.db, ItemFile)) == 1
