"""Warning notices (预警通知单) through the fake Bot API: a red pace warning becomes a notice the unit answers in
chat with its reason, next steps and a photo; the answer reaches the linked leaders and shows in /mytargets and
/portfolio while the light stays red; a notice left unanswered climbs to the leaders and then the office."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from models.alerts import Alert, WarningNotice
from models.core import AuditLog
from tests.support.alertrig import add_target, at, county, report, run
from tests.support.itemrig import PNG


async def _said(bot, user, needle: str):
    await bot.app.bot_data.delivery.settle()
    return await user.wait_reply(lambda m: m.text is not None and needle in m.text)


async def test_a_notice_answered_and_one_left_unanswered(bot) -> None:
    """Two targets of 1,000 due 31 December 2026 stand at 300 on 1 July (Wednesday), when 1,000 × 181/364 = 497.25
    are expected: pace 0.60, red. Each red pace alert (#1, #2) becomes a notice (#3, #4) to answer within 3
    working days: by Monday 6 July. #3 is answered; #4 is not, so on Tuesday 7 July (the first working day after)
    it climbs to the linked leader and the group head, and on Wednesday 8 July (one more working day) to the
    office."""
    c = await county(bot.db, bot.clock)
    roads = await add_target(bot.db, c, "A", planned="1000", deadline=date(2026, 12, 31), title="村道硬化")
    pigs = await add_target(bot.db, c, "B", planned="1000", deadline=date(2026, 12, 31), title="生猪出栏")
    for a in (roads, pigs):
        await report(bot.db, a, "300", at(date(2026, 6, 30)), c["cadre"])
    bot.clock.set(at(date(2026, 7, 1)))
    await run(bot.db, at(date(2026, 7, 1)))
    zhang, liu, chen, office = (bot.fake.user(i) for i in (200, 400, 401, 500))
    push = await _said(bot, zhang, "督办提醒")
    assert "🔴 红色 4" in push.text and "预警通知单 2" in push.text and "请于 2026-07-06 前答复" in push.text
    async with bot.db.uow() as uow:
        notices = (await uow.session.exec(select(WarningNotice).order_by(WarningNotice.id))).all()
        assert [(n.alert_id, n.answer_by) for n in notices] == [(3, date(2026, 7, 6)), (4, date(2026, 7, 6))]
        assert len((await uow.session.exec(select(AuditLog).where(AuditLog.action == "warning.issue"))).all()) == 2

    # 张三 answers #3 from the push's list: reason, next steps, a photo, Submit.
    await zhang.press_button(push, "全部 4 条 ▸")
    listed = await zhang.wait_reply()
    await zhang.press_button(listed, "📝 答复 #3")
    assert "落后原因" in (ask := await zhang.wait_reply()).text and "村道硬化" in ask.text
    await zhang.send_text("雨")
    assert "内容太短" in (await zhang.wait_reply()).text  # refused politely, the step stays
    await zhang.send_text("雨季停工两周，砂石供应不足")
    assert "下一步措施" in (await zhang.wait_reply()).text
    await zhang.send_text("增加两个施工队，7 月底前追回进度")
    assert "照片" in (await zhang.wait_reply()).text
    await zhang.send_photo(PNG)
    summary = await zhang.wait_reply()
    assert "雨季停工两周" in summary.text and "增加两个施工队" in summary.text and "照片：1 张" in summary.text
    async with bot.db.uow() as uow:  # nothing before Submit
        assert (await uow.session.get(WarningNotice, notices[0].id)).answered_at is None
    await zhang.press(summary, next(d for _, d in summary.buttons() if d.startswith("wn:y:")))
    assert "已提交预警通知单 #3 的答复" in (await zhang.wait_reply()).text
    for leader in (liu, chen):  # the linked leader and the group head
        told = await _said(bot, leader, "预警通知单 #3 已答复")
        assert "雨季停工两周" in told.text and "增加两个施工队" in told.text and "附照片 1 张" in told.text
    async with bot.db.uow() as uow:
        answered = await uow.session.get(WarningNotice, notices[0].id)
        assert answered.answered_by_person_id == c["cadre"].id and answered.evidence_id is not None
        assert (await uow.session.get(Alert, 3)).state == "acknowledged"
        assert (await uow.session.exec(select(AuditLog).where(AuditLog.action == "warning.answer"))).one()
    await zhang.press_button(listed, "📝 答复 #3")  # answered already: said, nothing opens
    assert "已由 张三" in (await zhang.wait_callback_answer()).get("text", "")

    # The light stays red after the answer: /mytargets and /portfolio show both notices.
    await zhang.send_text("/mytargets")
    mine = (await zhang.wait_reply()).text
    assert mine.count("🔴") == 2 and "预警通知单 #3 已答复（张三）：原因：雨季停工两周" in mine
    assert "预警通知单 #4：请于 2026-07-06 前答复" in mine
    await liu.send_text("/portfolio")
    folio = (await liu.wait_reply()).text
    assert "预警通知单 #3 已答复（张三）" in folio and "预警通知单 #4：请于 2026-07-06 前答复" in folio

    # #4 unanswered: nothing on its last day, the leaders on the next working day, the office a day later.
    bot.clock.set(at(date(2026, 7, 6)))
    assert [m for m in (await run(bot.db, at(date(2026, 7, 6)))).messages if m.kind == "warning"] == []
    bot.clock.set(at(date(2026, 7, 7)))
    climbed = [m for m in (await run(bot.db, at(date(2026, 7, 7)))).messages if m.kind == "warning"]
    assert {m.person for m in climbed} == {c["leader"].code, c["head"].code}
    assert all(m.key == "warning|2" for m in climbed)
    up = await _said(bot, liu, "逾期未答复")
    assert "预警通知单" in up.text and "生猪出栏" in up.text
    bot.clock.set(at(date(2026, 7, 8)))
    top = [m for m in (await run(bot.db, at(date(2026, 7, 8)))).messages if m.kind == "warning"]
    assert {m.person for m in top} == {c["admin"].code}
    await _said(bot, office, "预警通知单")
    await zhang.send_text("/mytargets")
    assert "预警通知单 #4：已超过答复期限 2026-07-06，尚未答复" in (await zhang.wait_reply()).text


async def test_a_notice_stops_when_the_pace_recovers(database, clock) -> None:
    """Red on 1 July (300 of an expected 497.25); a report of 480 on 2 July is 480/(1,000 × 182/364 = 500) = 0.96:
    on track. The pace alert resolves and so does the unanswered notice: it never climbs."""
    c = await county(database, clock)
    a = await add_target(database, c, "A", planned="1000", deadline=date(2026, 12, 31))
    await report(database, a, "300", at(date(2026, 6, 30)), c["cadre"])
    await run(database, at(date(2026, 7, 1)))
    await report(database, a, "480", at(date(2026, 7, 2), 8), c["cadre"])
    await run(database, at(date(2026, 7, 2)))
    async with database.uow() as uow:
        assert {a.kind: a.state for a in (await uow.session.exec(select(Alert))).all()} == {
            "pace": "resolved", "warning": "resolved"}
    assert [m for m in (await run(database, at(date(2026, 7, 8)))).messages if m.kind == "warning"] == []
