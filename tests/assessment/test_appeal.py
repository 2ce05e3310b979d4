"""Appeals during public notice: a cadre's /appeal dialogue (both languages), the office's Accept (with a
correction that changes the ranking) and Reject, the appellant told, the refusals, exactly once under
redelivery, and a restart in the middle of the dialogue."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import col, select

from bot.app.persistence import DbPersistence
from models.assessment import Appeal, AssessmentItem, AssessmentResult
from models.core import AuditLog
from services.assessment import appeal_records, rounds
from services.core.errors import DomainError, DuplicateUpdate
from tests.support.botrig import running_bot
from tests.support.results_rig import ADMIN, CADRE_EN, CADRE_ZH, LEADER, seed


async def _publish(rig) -> None:
    await rounds.publish(2027, 7, actor="cli", uow=rig.db.uow(), clock=rig.clock)


async def _rows(rig, model, *where) -> list:
    async with rig.db.uow() as uow:
        return list((await uow.session.exec(select(model).where(*where).order_by(col(model.id)))).all())


async def _totals(rig) -> dict[str, tuple[Decimal, int]]:
    res = await rounds.results(2027, uow=rig.db.read_uow(), clock=rig.clock)
    return {u.unit_code: (u.total, u.rank) for u in res.county.units}


async def said(user, text: str):
    """The next message to the user containing ``text`` (pushes in between are passed over)."""
    return await user.wait_reply(lambda m: text in (m.text or ""))


async def _file(user, reason: str, *, send: str) -> None:
    await user.send_text("/appeal")
    await said(user, "/cancel")
    await user.send_text(reason)
    confirm = await said(user, reason)
    assert reason in confirm.text
    await user.press_button(confirm, send)


async def test_an_appeal_accepted_with_a_correction_reranks_and_the_cadre_hears_in_english(bot) -> None:
    county = await seed(bot)
    await _publish(bot)
    before = await _totals(bot)
    assert before["T2"][1] == 2
    li = bot.fake.user(CADRE_EN, "Li", language_code="en")
    await li.send_text("/appeal")
    shown = await said(li, "reply with the reason")
    assert "青山镇" in shown.text and "rank <b>2/3</b>" in shown.text and "reply with the reason" in shown.text
    await li.send_text("The second investment payment (300) arrived before the cut-off but was not counted.")
    confirm = await said(li, "Send this appeal on behalf of 青山镇?")
    await li.press_button(confirm, "Send the appeal")
    assert "Appeal #1 (青山镇) was sent" in (await said(li, "Appeal #1")).text

    admin = bot.fake.user(ADMIN, "赵")
    pushed = await admin.wait_reply(lambda m: "考核申诉 #1" in (m.text or ""))
    assert "青山镇" in pushed.text and "Li Wei" in pushed.text and "300" in pushed.text
    await admin.press_button(pushed, "受理更正")
    await said(admin, "请回复“更正分值 理由”")
    await admin.send_text("四十分")
    await said(admin, "不是有效的更正分值")  # the step stays
    await admin.send_text("+40 核实后补计到位资金")
    done = await said(admin, "已受理")
    assert "申诉 #1（青山镇）已受理，更正 40.00 分" in done.text and "排名 1" in done.text

    told = await said(li, "Your appeal #1")
    assert "Your appeal #1 was accepted" in told.text and "Correction: 40.00 points" in told.text
    assert "rank 1" in told.text
    after = await _totals(bot)
    assert after["T2"] == (before["T2"][0] + 40, 1) and after["T1"][1] == 2
    (appeal,) = await _rows(bot, Appeal)
    assert (appeal.status, appeal.decision_reason, appeal.decided_by) == ("accepted", "核实后补计到位资金", "赵主任")
    (item,) = await _rows(bot, AssessmentItem)
    assert (item.kind, item.points, item.appeal_id, item.unit_id) == ("correction", 40, 1, county.units["T2"].id)
    assert [a.action for a in await _rows(bot, AuditLog, col(AuditLog.action).like("appeal.%"))] == [
        "appeal.create", "appeal.accept"]

    await admin.press_button(pushed, "驳回")  # a second press on the same message
    answer = await admin.wait_callback_answer()
    assert "已由赵主任处理过" in answer["text"]


async def test_an_appeal_rejected_with_a_reason_changes_nothing_and_the_cadre_hears_in_chinese(bot) -> None:
    await seed(bot)
    await _publish(bot)
    before = await _totals(bot)
    zhang = bot.fake.user(CADRE_ZH, "张三")
    await _file(zhang, "重点项目投资统计口径有误", send="提交申诉")
    await said(zhang, "申诉 #1（城关镇）已提交目标办")
    admin = bot.fake.user(ADMIN, "赵")
    pushed = await admin.wait_reply(lambda m: "考核申诉 #1" in (m.text or ""))
    await admin.press_button(pushed, "驳回")
    await said(admin, "请回复驳回理由")
    await admin.send_text("统计口径以统计局年报为准")
    await said(admin, "已驳回")
    told = await said(zhang, "您的申诉")
    assert "您的申诉 #1 未予采纳" in told.text and "统计口径以统计局年报为准" in told.text
    assert await _totals(bot) == before
    (appeal,) = await _rows(bot, Appeal)
    assert appeal.status == "rejected" and await _rows(bot, AssessmentItem) == []


async def test_refusals_and_one_pending_appeal_per_unit(bot) -> None:
    await seed(bot)
    zhang = bot.fake.user(CADRE_ZH, "张三")
    await zhang.send_text("/appeal")
    await said(zhang, "没有正在公示")  # the round is still open
    await _publish(bot)
    leader = bot.fake.user(LEADER, "王")
    await leader.send_text("/appeal")
    await said(leader, "只有责任单位的干部可以申诉")
    await zhang.send_text("/appeal")
    await said(zhang, "/cancel")
    await zhang.send_text("/cancel")
    await said(zhang, "申诉已取消")
    await _file(zhang, "第一件申诉", send="提交申诉")
    await said(zhang, "已提交")
    await zhang.send_text("/appeal")
    await said(zhang, "申诉（#1）正在处理")
    with pytest.raises(DomainError) as pending:
        await rounds.close(2027, actor="cli", uow=bot.db.uow(), clock=bot.clock)
    assert pending.value.key == "results.pending_appeals"
    with pytest.raises(DomainError) as not_admin:
        await appeal_records.decide(1, True, "理由", Decimal(1), user_id=CADRE_ZH, update_id=None, uow=bot.db.uow(),
                            clock=bot.clock)
    assert not_admin.value.key == "appeal.not_admin"
    bot.clock.advance(timedelta(days=8))
    li = bot.fake.user(CADRE_EN, "Li", language_code="en")
    await li.send_text("/appeal")
    await said(li, "The appeal window closed at 2027-03-29 09:00")
    assert len(await _rows(bot, Appeal)) == 1


async def test_an_appeal_is_filed_exactly_once_and_needs_a_reason(rig) -> None:
    await seed(rig)
    await _publish(rig)
    with pytest.raises(DomainError) as empty:
        await appeal_records.appeal("  \n ", user_id=CADRE_ZH, update_id=70, uow=rig.db.uow(), clock=rig.clock)
    assert empty.value.key == "appeal.reason_required"
    view = await appeal_records.appeal("数据有误", user_id=CADRE_ZH, update_id=71, uow=rig.db.uow(), clock=rig.clock)
    with pytest.raises(DuplicateUpdate):
        await appeal_records.appeal("数据有误", user_id=CADRE_ZH, update_id=71, uow=rig.db.uow(), clock=rig.clock)
    decided = await appeal_records.decide(view.id, False, "不予采纳", user_id=ADMIN, update_id=72, uow=rig.db.uow(),
                                  clock=rig.clock)
    again = await appeal_records.decide(view.id, True, "改为受理", Decimal(5), user_id=ADMIN, update_id=73,
                                uow=rig.db.uow(), clock=rig.clock)
    assert decided.status == "rejected" and again.already and again.status == "rejected"
    assert len(await _rows(rig, Appeal)) == 1 and await _rows(rig, AssessmentItem) == []
    rows = await _rows(rig, AssessmentResult)
    assert len(rows) == 4


async def test_the_appeal_dialogue_survives_a_restart(rig, monkeypatch) -> None:
    async def lost(self, name, key, new_state) -> None:  # PTB's own persistence writes never happen
        return None

    monkeypatch.setattr(DbPersistence, "update_conversation", lost)
    await seed(rig)
    await _publish(rig)
    zhang = rig.fake.user(CADRE_ZH, "张三")
    async with running_bot(rig):
        await zhang.send_text("/appeal")
        await said(zhang, "/cancel")
        await zhang.send_text("重启前写好的理由")
        confirm = await said(zhang, "重启前写好的理由")
    async with running_bot(rig):
        await zhang.press_button(confirm, "提交申诉")
        await said(zhang, "已提交目标办")
    (appeal,) = await _rows(rig, Appeal)
    assert appeal.reason == "重启前写好的理由"
