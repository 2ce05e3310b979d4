"""整改 through the fake Bot API: open, close with photos, accept / reject, outbox, /rectify, refusals, restart."""

from __future__ import annotations

from datetime import date, timedelta
from unittest.mock import AsyncMock

import pytest
from sqlmodel import col, select, update
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.app.persistence import DbPersistence
from models.core import AuditLog, EvidenceFile, OutboxMessage
from models.enums import Role
from models.inspection import Inspection, Rectification, RectificationPhoto
from services.core.errors import DomainError
from services.inspection import rectify
from tests.support.botrig import running_bot
from tests.support.factories import add_person, add_unit

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


async def rows(rig, model, *where) -> list:
    async with rig.db.uow() as uow:
        return list((await uow.session.exec(select(model).where(*where).order_by(col(model.id)))).all())


async def audits(rig, action: str) -> list[AuditLog]:
    return await rows(rig, AuditLog, AuditLog.action == action)


async def add_items(rig, p: dict, *specs: tuple[int, str, str]) -> None:
    """Items opened by 钱督查 for 张三 directly: (days from today to the deadline, status, description)."""
    async with rig.db.uow() as uow:
        for days, status, text in specs:
            uow.session.add(Rectification(
                inspection_id=p["insp_qian"], unit_id=p["v1"].id, description=text, owner_person_id=p["zhang"].id,
                opened_by_person_id=p["qian"].id, deadline=rig.clock.now().date() + timedelta(days=days),
                status=status, created_at=rig.clock.now()))
        await uow.commit()


async def hand_over(rig, rect_id: int, **change: int) -> None:
    """An item given to someone else (as an office correction would)."""
    async with rig.db.uow() as uow:
        await uow.session.exec(update(Rectification).where(col(Rectification.id) == rect_id).values(**change))
        await uow.commit()


async def told(bot, user, needle: str):  # the next outbox message to ``user`` containing ``needle``
    await bot.app.bot_data.delivery.settle()
    return await user.wait_reply(lambda m: m.text is not None and needle in m.text)


async def to_deadline(inspector, inspection_id: int, owner: str = "张三", problem: str = PROBLEM):
    """/rectify_new, the problem and the owner; returns the question for the deadline."""
    await inspector.send_text(f"/rectify_new {inspection_id}")
    await inspector.wait_reply()
    await inspector.send_text(problem)
    await inspector.press_button(await inspector.wait_reply(), owner)
    return await inspector.wait_reply()


async def open_item(bot, inspector, inspection_id: int, deadline: str = "+14"):
    """The inspector's whole opening dialogue, for 张三."""
    await to_deadline(inspector, inspection_id)
    await inspector.send_text(deadline)
    await inspector.press_button(await inspector.wait_reply(), "确认")
    done = await inspector.wait_reply()
    await bot.app.bot_data.delivery.settle()  # the owner's notice is out before the owner acts
    return done


async def start_closing(cadre, note: str = "路灯已修好，护栏已补装"):
    """/rectify, Close on the owner's open item, the note; returns the question for the photos."""
    await cadre.send_text("/rectify")
    listed = await cadre.wait_reply()
    await cadre.press(listed, next(d for _, d in listed.buttons() if d.startswith("rect:close:")))
    await cadre.wait_reply()
    await cadre.send_text(note)
    return await cadre.wait_reply()


async def close_item(bot, cadre, photos=(PNG,), note: str = "路灯已修好，护栏已补装"):
    """The owner's whole closing dialogue from /rectify."""
    await start_closing(cadre, note)
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
        [[InlineKeyboardButton("开整改", callback_data=f"rect:new:{p['insp_qian']}")]]))
    await qian.press_button(await qian.wait_reply(), "开整改")
    ask = await qian.wait_reply()
    assert "青山村" in ask.text and FINDINGS in ask.text
    await qian.send_text(PROBLEM)
    choice = await qian.wait_reply()
    assert [t for t, _ in choice.buttons()] == ["张三", "李四", "取消"]  # the unit's cadres who joined
    await qian.press_button(choice, "张三")
    assert "整改时限" in (await qian.wait_reply()).text
    await qian.send_text("+14")
    summary = await qian.wait_reply()
    assert PROBLEM in summary.text and "张三" in summary.text and "2027-04-05" in summary.text
    assert await rows(bot, Rectification) == []  # nothing before Confirm
    await qian.press_button(summary, "确认")
    assert "已开出整改事项" in (await qian.wait_reply()).text
    (item,) = await rows(bot, Rectification)
    assert (item.status, item.deadline, item.owner_person_id, item.opened_by_person_id, item.unit_id) == (
        "open", date(2027, 4, 5), p["zhang"].id, p["qian"].id, p["v1"].id)
    assert (await audits(bot, "rectification.open"))[0].entity_key == str(item.id)

    notice = await told(bot, zhang, "新的整改事项")  # the owner is told through the outbox
    assert all(part in notice.text for part in (PROBLEM, "青山村", "2027-04-05", "/rectify"))
    assert [m.chat_id for m in await rows(bot, OutboxMessage, OutboxMessage.kind == "rect.opened")] == [200]

    await zhang.send_text("/rectify")
    listed = await zhang.wait_reply()
    assert PROBLEM in listed.text and "还剩 14 天" in listed.text
    await zhang.press(listed, f"rect:close:{item.id}")
    assert "请说明整改情况" in (await zhang.wait_reply()).text
    await zhang.send_text("路灯已修好，护栏已补装")
    assert "已收到 0 张" in (await zhang.wait_reply()).text
    await zhang.send_photo(PNG)
    assert "已收到 1 张" in (await zhang.wait_reply()).text
    await zhang.send_document(PNG2, "护栏.png", "image/png")
    assert "已收到 2 张" in (await zhang.wait_reply()).text
    await zhang.send_document(PNG2, "护栏副本.png", "image/png")  # the same bytes again
    assert "已收到 2 张" in (await zhang.wait_reply()).text
    await zhang.send_text("/done")
    closing = await zhang.wait_reply()
    assert "路灯已修好" in closing.text and "2 张" in closing.text
    await zhang.press_button(closing, "确认提交")
    assert "已提交验收" in (await zhang.wait_reply()).text
    (item,) = await rows(bot, Rectification)
    assert (item.status, item.closing_note) == ("submitted", "路灯已修好，护栏已补装") and item.submitted_at
    assert [ph.submission for ph in await rows(bot, RectificationPhoto)] == [1, 1]
    assert len(await rows(bot, EvidenceFile)) == 2 and await audits(bot, "rectification.submit")

    review = await told(bot, qian, "整改待验收")
    assert "路灯已修好" in review.text and "张三" in review.text
    assert [d for _, d in review.buttons()] == [f"rect:ok:{item.id}:1", f"rect:no:{item.id}:1",
                                                f"rect:review:{item.id}"]
    await qian.press_button(review, "查看照片")
    shown = await qian.wait_replies(3)
    assert [m.method for m in shown] == ["sendPhoto", "sendPhoto", "sendMessage"]
    await qian.press_button(shown[-1], "验收通过")
    assert "已验收整改事项" in (await qian.wait_reply()).text
    (item,) = await rows(bot, Rectification)
    assert item.status == "accepted" and item.decided_at is not None
    assert len(await audits(bot, "rectification.accept")) == 1
    assert "验收通过" in (await told(bot, zhang, "验收通过")).text
    await zhang.send_text("/rectify")
    assert "没有待办的整改事项" in (await zhang.wait_reply()).text


async def test_a_rejection_reaches_the_owner_then_resubmission_is_accepted(bot) -> None:
    p = await seed(bot)
    qian, zhang = bot.fake.user(500), bot.fake.user(200)
    await open_item(bot, qian, p["insp_qian"])
    await told(bot, zhang, "新的整改事项")
    await close_item(bot, zhang)
    review = await told(bot, qian, "整改待验收")
    await qian.press_button(review, "驳回")
    assert "请输入驳回意见" in (await qian.wait_reply()).text
    await qian.send_text("x")  # too short: the step stays
    assert "至少" in (await qian.wait_reply()).text
    await qian.send_text("护栏高度不够，请按标准重新安装")
    assert "已驳回" in (await qian.wait_reply()).text
    (item,) = await rows(bot, Rectification)
    assert (item.status, item.rejections, item.decision_note) == ("open", 1, "护栏高度不够，请按标准重新安装")
    assert len(await audits(bot, "rectification.reject")) == 1
    assert "护栏高度不够" in (await told(bot, zhang, "未通过验收")).text  # the reason reaches the owner
    await zhang.send_text("/rectify")
    assert "已被驳回 1 次" in (await zhang.wait_reply()).text
    await close_item(bot, zhang, photos=(PNG2,), note="护栏已按标准重新安装")
    again = await told(bot, qian, "重新提交")
    assert "护栏已按标准重新安装" in again.text and "护栏高度不够" in again.text
    assert [ph.submission for ph in await rows(bot, RectificationPhoto)] == [1, 2]
    await qian.press_button(review, "验收通过")  # the old message: decided already, nothing changes
    assert "已经处理过" in (await qian.wait_callback_answer())["text"]
    assert (await rows(bot, Rectification))[0].status == "submitted"
    await qian.press_button(again, "验收通过")
    assert "已验收" in (await qian.wait_reply()).text and (await rows(bot, Rectification))[0].status == "accepted"
    await told(bot, zhang, "验收通过")


async def test_rectify_lists_for_owner_and_opener_with_deadlines_marked(bot) -> None:
    p = await seed(bot)
    await add_items(bot, p, (-3, "open", "逾期的事项"), (0, "open", "今天到期的事项"), (5, "submitted", "已提交的事项"),
                    (9, "accepted", "已验收的事项"))
    zhang, qian, wang = bot.fake.user(200), bot.fake.user(500), bot.fake.user(300)
    await zhang.send_text("/rectify")
    mine = await zhang.wait_reply()
    assert "已逾期 3 天" in mine.text and "今天到期" in mine.text and "等待 钱督查 验收" in mine.text
    assert "已验收的事项" not in mine.text
    assert [d for _, d in mine.buttons()] == ["rect:close:1", "rect:close:2"]  # only the open ones
    await qian.send_text("/rectify")
    theirs = await qian.wait_reply()
    assert "已提交的事项" in theirs.text and "逾期的事项" not in theirs.text
    assert [d for _, d in theirs.buttons()] == ["rect:review:3"]
    await wang.send_text("/rectify")
    assert "没有待办" in (await wang.wait_reply()).text


async def test_closing_needs_a_photo_and_cancel_writes_nothing(bot) -> None:
    p = await seed(bot)
    qian, zhang = bot.fake.user(500), bot.fake.user(200)
    await open_item(bot, qian, p["insp_qian"])
    await zhang.press_button(await start_closing(zhang), "完成")
    assert "至少需要一张" in (await zhang.wait_reply()).text
    await zhang.send_text("/done")
    assert "至少需要一张" in (await zhang.wait_reply()).text
    await zhang.send_document(b"%PDF-1.4 report", "报告.pdf", "application/pdf")
    assert "只接受照片" in (await zhang.wait_reply()).text
    await zhang.send_text("好了")  # not a photo: the step is asked again
    assert "已收到 0 张" in (await zhang.wait_replies(2))[1].text
    await zhang.send_photo(PNG)
    await zhang.wait_reply()
    await zhang.send_text("/done")
    assert "请确认提交整改" in (await zhang.wait_reply()).text
    await zhang.send_text("/cancel")
    assert "已取消" in (await zhang.wait_reply()).text
    (item,) = await rows(bot, Rectification)
    assert item.status == "open" and item.closing_note is None and await rows(bot, RectificationPhoto) == []
    assert await rows(bot, OutboxMessage, OutboxMessage.kind == "rect.submitted") == []


async def test_only_the_opener_decides_and_a_second_press_changes_nothing(bot) -> None:
    p = await seed(bot)
    qian, zhang = bot.fake.user(500), bot.fake.user(200)
    await open_item(bot, qian, p["insp_qian"])
    await close_item(bot, zhang)
    review = await told(bot, qian, "整改待验收")
    (item,) = await rows(bot, Rectification)
    with pytest.raises(DomainError) as refused:  # another inspector
        await rectify.accept(item.id, user_id=501, update_id=None, uow=bot.db.uow(), clock=bot.clock)
    assert refused.value.key == "rect.not_opener"
    await hand_over(bot, item.id, opened_by_person_id=p["sun"].id)  # the old message no longer decides
    await qian.press_button(review, "验收通过")
    assert "只有开出整改事项" in (await qian.wait_callback_answer())["text"]
    await qian.press_button(review, "驳回")
    assert "只有开出整改事项" in (await qian.wait_reply()).text
    assert (await rows(bot, Rectification))[0].status == "submitted" and await audits(bot, "rectification.accept") == []

    sun = bot.fake.user(501)
    await sun.send_text("/rectify")
    await sun.press_button(await sun.wait_reply(), "验收")
    decide = (await sun.wait_replies(2))[-1]
    accept = next(d for t, d in decide.buttons() if t == "验收通过")
    await sun.press(decide, accept)
    await sun.press(decide, accept)  # before the keyboard disappears
    await sun.wait_reply()
    assert "已经处理过" in (await sun.wait_callback_answer())["text"]
    assert (await rows(bot, Rectification))[0].status == "accepted"
    assert len(await audits(bot, "rectification.accept")) == 1
    assert len(await rows(bot, OutboxMessage, OutboxMessage.kind == "rect.accepted")) == 1


async def test_only_the_owner_closes_and_only_the_inspector_opens(bot) -> None:
    p = await seed(bot)
    qian, zhang, sun = bot.fake.user(500), bot.fake.user(200), bot.fake.user(501)
    await open_item(bot, qian, p["insp_qian"])
    await zhang.send_text("/rectify")
    listed, (item,) = await zhang.wait_reply(), await rows(bot, Rectification)
    await hand_over(bot, item.id, owner_person_id=p["li"].id)
    await zhang.press(listed, f"rect:close:{item.id}")
    assert "不由您负责" in (await zhang.wait_reply()).text
    await zhang.send_text("已整改")  # no closing dialogue was started
    assert "没有听懂" in (await zhang.wait_reply()).text
    await sun.send_text(f"/rectify_new {p['insp_qian']}")  # not his inspection
    assert "不是您做的督查" in (await sun.wait_reply()).text
    await sun.send_text("/rectify_new")
    assert "用法" in (await sun.wait_reply()).text
    assert len(await rows(bot, Rectification)) == 1 and (await rows(bot, Rectification))[0].status == "open"


@pytest.mark.parametrize(("typed", "says"), [*[(t, "不是有效的时限") for t in ("下个月", "2027-02-30", "2027/13/1")],
                                           ("+abc", "不是有效的时限"), ("2027-03-21", "早于今天"),
                                           ("2026年12月31日", "早于今天")])
async def test_bad_deadlines_are_explained_and_keep_the_step(bot, typed, says) -> None:
    p = await seed(bot)
    qian = bot.fake.user(500)
    await to_deadline(qian, p["insp_qian"])
    await qian.send_text(typed)
    assert says in (await qian.wait_reply()).text
    await qian.send_text("２０２７年４月３０日")
    assert "2027-04-30" in (await qian.wait_reply()).text


@pytest.mark.parametrize("stop_at", ["description", "deadline", "summary", "summary_button"])
async def test_cancel_while_opening_writes_nothing(bot, stop_at) -> None:
    p = await seed(bot)
    qian = bot.fake.user(500)
    if stop_at == "description":
        await qian.send_text(f"/rectify_new {p['insp_qian']}")
        await qian.wait_reply()
    else:
        await to_deadline(qian, p["insp_qian"])
    if stop_at.startswith("summary"):
        await qian.send_text("+7")
        summary = await qian.wait_reply()
    if stop_at == "summary_button":
        await qian.press_button(summary, "取消")
    else:
        await qian.send_text("/cancel")
    assert "已取消" in (await qian.wait_reply()).text
    assert await rows(bot, Rectification) == [] and await rows(bot, OutboxMessage) == []
    await qian.send_text(PROBLEM)  # no dialogue any more
    assert "没有听懂" in (await qian.wait_reply()).text


async def test_confirm_pressed_twice_opens_one_item(bot) -> None:
    p = await seed(bot)
    qian = bot.fake.user(500)
    await to_deadline(qian, p["insp_qian"])
    await qian.send_text("2027/4/30")
    summary = await qian.wait_reply()
    data = next(d for t, d in summary.buttons() if t == "确认")
    await qian.press(summary, data)
    await qian.press(summary, data)
    first, second = await qian.wait_replies(2)
    assert "已开出整改事项" in first.text and first.text == second.text
    assert len(await rows(bot, Rectification)) == 1
    assert len(await rows(bot, OutboxMessage, OutboxMessage.kind == "rect.opened")) == 1
    assert len(await audits(bot, "rectification.open")) == 1


async def test_english_users_get_english(bot) -> None:
    p = await seed(bot)
    wu, li = bot.fake.user(502, language_code="en"), bot.fake.user(201, language_code="en")
    assert "By when" in (await to_deadline(wu, p["insp_wu"], "李四", "Fix the street lamp")).text
    await wu.send_text("+7")
    summary = await wu.wait_reply()
    assert "Please confirm" in summary.text and "2027-03-29" in summary.text
    await wu.press_button(summary, "Confirm")
    assert "opened" in (await wu.wait_reply()).text
    assert "Fix the street lamp" in (await told(bot, li, "new rectification item")).text
    await li.send_text("/rectify")
    assert "Items you are responsible for" in (await li.wait_reply()).text


async def test_overdue_items(bot) -> None:
    p = await seed(bot)
    await add_items(bot, p, *[(days, status, f"{days}{status}") for days, status in (
        (-10, "open"), (-1, "open"), (0, "open"), (-5, "submitted"), (-5, "accepted"), (3, "open"))])
    async with bot.db.uow() as uow:
        found = await rectify.overdue_items(uow.session, bot.clock.now().date())
    assert [r.description for r in found] == ["-10open", "-1open"]


async def test_a_new_application_continues_the_closing_at_the_same_step(rig, monkeypatch) -> None:
    monkeypatch.setattr(DbPersistence, "update_conversation", AsyncMock())  # PTB's own writes never happen
    p = await seed(rig)
    qian, zhang = rig.fake.user(500), rig.fake.user(200)
    async with running_bot(rig):
        await open_item(rig, qian, p["insp_qian"])
        await start_closing(zhang)
        await zhang.send_photo(PNG)
        await zhang.wait_reply()
    async with running_bot(rig):
        await zhang.send_text("/done")
        await zhang.press_button(await zhang.wait_reply(), "确认提交")
        assert "已提交验收" in (await zhang.wait_reply()).text
    (item,) = await rows(rig, Rectification)
    assert item.status == "submitted" and len(await rows(rig, RectificationPhoto)) == 1
