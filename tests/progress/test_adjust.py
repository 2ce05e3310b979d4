"""/adjust through the fake Bot API: request, the office's decision, idempotency, refusals, restart."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import col, delete, select

from bot.app.persistence import DbPersistence
from models.core import AuditLog, OutboxMessage
from models.enums import Role
from models.people import RoleMembership
from models.plan import Assignment, Target
from models.progress import TargetAdjustment
from services.plan.export import plan_rows
from services.plan.state import load_existing
from services.progress.standings import plan_as_of
from tests.support.botrig import running_bot
from tests.support.factories import add_person, add_unit

REASON = "招商项目推迟到明年落地"


async def seed(rig) -> dict:
    """Village V1 (cadres 张三 zh, 李四 en) with T1 (万元) and T2 (亩); V2 with its own T3; two admins."""
    v1 = await add_unit(rig.db, rig.clock, code="V1", name="青山村")
    v2 = await add_unit(rig.db, rig.clock, code="V2", name="绿水村")
    await add_person(rig.db, rig.clock, name="张三", unit=v1, telegram_user_id=200)
    await add_person(rig.db, rig.clock, name="李四", unit=v1, telegram_user_id=201, language="en")
    await add_person(rig.db, rig.clock, name="王五", unit=v2, telegram_user_id=300)
    zhao = await add_person(rig.db, rig.clock, name="赵主任", roles=(Role.ADMIN,), telegram_user_id=100)
    await add_person(rig.db, rig.clock, name="Office Liu", roles=(Role.ADMIN,), telegram_user_id=101, language="en")
    async with rig.db.uow() as uow:
        t1 = Target(code="T1", year=2027, title="招商引资到位资金", category="investment", measure="万元",
                    mode="zero_base", deadline=date(2027, 12, 31))
        t2 = Target(code="T2", year=2027, title="新建高标准农田", category="industry", measure="亩",
                    mode="continuous", deadline=date(2027, 10, 31))
        t3 = Target(code="T3", year=2027, title="绿水村秘密目标", category="other", measure="个",
                    mode="zero_base", deadline=date(2027, 6, 30))
        uow.session.add_all([t1, t2, t3])
        await uow.session.flush()
        a1 = Assignment(target_id=t1.id, unit_id=v1.id, planned_value=Decimal(1000))
        a2 = Assignment(target_id=t2.id, unit_id=v1.id, planned_value=Decimal(500))
        uow.session.add_all([a1, a2, Assignment(target_id=t3.id, unit_id=v2.id, planned_value=Decimal(3))])
        await uow.commit()
    return {"a1": a1.id, "a2": a2.id, "zhao": zhao}


async def rows(rig, model, *where) -> list:
    async with rig.db.uow() as uow:
        return list((await uow.session.exec(select(model).where(*where).order_by(col(model.id)))).all())


async def assignment(rig, assignment_id: int) -> Assignment:
    async with rig.db.uow() as uow:
        found = await uow.session.get(Assignment, assignment_id)
        assert found is not None
        return found


async def request(user, code: str, field_button: str, value: str, reason: str = REASON, confirm: str = "确认提交"):
    """The cadre's whole dialogue; returns the last reply."""
    await user.send_text(f"/adjust {code}")
    choice = await user.wait_reply()
    await user.press_button(choice, field_button)
    await user.wait_reply()
    await user.send_text(value)
    await user.wait_reply()
    await user.send_text(reason)
    summary = await user.wait_reply()
    await user.press_button(summary, confirm)
    return await user.wait_reply()


async def office_message(bot, admin):
    await bot.app.bot_data.delivery.settle()
    return await admin.wait_reply(lambda m: m.text is not None and "adj:ok:" in str(m.buttons()))


async def test_approved_planned_value_applies_from_today_is_audited_and_the_cadre_is_told(bot) -> None:
    ids = await seed(bot)
    cadre, admin = bot.fake.user(200), bot.fake.user(100)
    await cadre.send_text("/adjust t1")
    choice = await cadre.wait_reply()
    assert "1,000 万元" in choice.text and "2027-12-31" in choice.text
    await cadre.press_button(choice, "计划值")
    assert "请输入调整后的计划值" in (await cadre.wait_reply()).text
    await cadre.send_text("８００万元")
    assert "800 万元" in (await cadre.wait_reply()).text
    await cadre.send_text(REASON)
    summary = await cadre.wait_reply()
    assert "1,000 万元 → 800 万元" in summary.text and REASON in summary.text
    assert await rows(bot, TargetAdjustment) == []  # nothing before Confirm
    await cadre.press_button(summary, "确认提交")
    assert "已提交调整申请" in (await cadre.wait_reply()).text
    (adj,) = await rows(bot, TargetAdjustment)
    assert (adj.status, adj.field_name, adj.old_value, adj.new_value) == ("pending", "planned_value", "1000", "800")
    assert (await assignment(bot, ids["a1"])).planned_value == Decimal(1000)

    office = await office_message(bot, admin)
    assert "张三" in office.text and "1,000 万元 → 800 万元" in office.text and REASON in office.text
    assert [d for _, d in office.buttons()] == [f"adj:ok:{adj.id}", f"adj:no:{adj.id}"]
    await admin.press_button(office, "批准")
    edited = await admin.wait_edit(office)
    assert "已由 赵主任" in edited.text and "批准" in edited.text and edited.buttons() == []
    assert "已批准" in (await admin.wait_callback_answer())["text"]

    (adj,) = await rows(bot, TargetAdjustment)
    assert adj.status == "approved" and adj.decided_by_person_id == ids["zhao"].id
    assert adj.effective_from == date(2027, 3, 22) and adj.decided_at is not None
    a1 = await assignment(bot, ids["a1"])
    assert a1.planned_value == Decimal(800)
    (entry,) = await rows(bot, AuditLog, AuditLog.action == "adjustment.approve")
    assert entry.before == {"planned_value": "1000"} and entry.after["planned_value"] == "800"
    assert entry.entity_key == "T1/V1"
    assert await rows(bot, AuditLog, AuditLog.action == "adjustment.request")
    async with bot.db.uow() as uow:
        before = await plan_as_of(uow.session, [a1], date(2027, 3, 21))
        since = await plan_as_of(uow.session, [a1], date(2027, 3, 22))
        exported = plan_rows(await load_existing(uow.session))["assignments"]
    assert before[a1.id][0] == Decimal(1000) and since[a1.id][0] == Decimal(800)
    assert next(r for r in exported if r["target_code"] == "T1")["planned_value"] == Decimal(800)

    await bot.app.bot_data.delivery.settle()
    told = await cadre.wait_reply()
    assert "已由 赵主任 批准" in told.text and "800 万元" in told.text
    (outbound,) = await rows(bot, OutboxMessage, OutboxMessage.kind == "adjust.decided")
    assert outbound.chat_id == 200
    await cadre.send_text("/history T1")
    assert "800" in (await cadre.wait_reply()).text


async def test_rejected_deadline_change_applies_nothing(bot) -> None:
    ids = await seed(bot)
    cadre, admin = bot.fake.user(200), bot.fake.user(100)
    done = await request(cadre, "T2", "完成时限", "2027年11月30日")
    assert "已提交" in done.text
    (adj,) = await rows(bot, TargetAdjustment)
    assert (adj.field_name, adj.old_value, adj.new_value) == ("deadline", "", "2027-11-30")
    office = await office_message(bot, admin)
    assert "2027-10-31 → 2027-11-30" in office.text
    await admin.press_button(office, "驳回")
    assert "已由 赵主任" in (await admin.wait_edit(office)).text
    (adj,) = await rows(bot, TargetAdjustment)
    assert adj.status == "rejected" and adj.effective_from is None
    assert (await assignment(bot, ids["a2"])).deadline is None
    assert await rows(bot, AuditLog, AuditLog.action == "adjustment.reject")
    assert await rows(bot, AuditLog, AuditLog.action == "adjustment.approve") == []
    await bot.app.bot_data.delivery.settle()
    assert "驳回" in (await cadre.wait_reply()).text


async def test_a_second_press_or_another_admin_changes_nothing(bot) -> None:
    ids = await seed(bot)
    cadre, zhao, liu = bot.fake.user(200), bot.fake.user(100), bot.fake.user(101)
    await request(cadre, "T1", "计划值", "800")
    mine, theirs = await office_message(bot, zhao), await office_message(bot, liu)
    assert "Target change request" in theirs.text and "1,000 万元 → 800 万元" in theirs.text
    approve = next(d for t, d in mine.buttons() if t == "批准")
    first = await zhao.press(mine, approve)
    await zhao.press(mine, approve)  # before the keyboard disappears
    await zhao.wait_edit(mine)
    await bot.fake.wait_confirmed(first["update_id"])
    await bot.fake.redeliver(first["update_id"])
    await liu.press_button(theirs, "Reject")
    late = await liu.wait_edit(theirs)
    assert "Approved by 赵主任" in late.text and "already been decided" in late.text and late.buttons() == []
    (adj,) = await rows(bot, TargetAdjustment)
    assert adj.status == "approved" and adj.decided_by_person_id == ids["zhao"].id
    assert (await assignment(bot, ids["a1"])).planned_value == Decimal(800)
    assert len(await rows(bot, AuditLog, col(AuditLog.action).like("adjustment.%"))) == 2  # request, approve
    assert len(await rows(bot, OutboxMessage, OutboxMessage.kind == "adjust.decided")) == 1


async def test_a_second_confirm_press_sends_one_request(bot) -> None:
    await seed(bot)
    cadre = bot.fake.user(200)
    await cadre.send_text("/adjust T1")
    await cadre.press_button(await cadre.wait_reply(), "计划值")
    await cadre.wait_reply()
    await cadre.send_text("900")
    await cadre.wait_reply()
    await cadre.send_text(REASON)
    summary = await cadre.wait_reply()
    data = next(d for t, d in summary.buttons() if t == "确认提交")
    await cadre.press(summary, data)
    await cadre.press(summary, data)
    first, second = await cadre.wait_replies(2)
    assert "已提交调整申请" in first.text and first.text == second.text
    assert len(await rows(bot, TargetAdjustment)) == 1
    assert len(await rows(bot, OutboxMessage, OutboxMessage.kind == "adjust.request")) == 2  # one per admin


async def test_someone_no_longer_admin_cannot_decide(bot) -> None:
    ids = await seed(bot)
    cadre, admin = bot.fake.user(200), bot.fake.user(100)
    await request(cadre, "T1", "计划值", "800")
    office = await office_message(bot, admin)
    async with bot.db.uow() as uow:
        await uow.session.exec(delete(RoleMembership).where(col(RoleMembership.person_id) == ids["zhao"].id))
        await uow.commit()
    await admin.press_button(office, "批准")
    answer = await admin.wait_callback_answer()
    assert "只有目标办" in answer["text"]
    (adj,) = await rows(bot, TargetAdjustment)
    assert adj.status == "pending" and office.edits == []
    assert (await assignment(bot, ids["a1"])).planned_value == Decimal(1000)


async def test_another_units_target_is_refused_without_its_data(bot) -> None:
    await seed(bot)
    cadre = bot.fake.user(200)
    await cadre.send_text("/adjust T3")
    refusal = await cadre.wait_reply()
    assert "未分解到您的单位" in refusal.text and "秘密" not in refusal.text and refusal.buttons() == []
    await cadre.send_text("/adjust")
    assert "用法" in (await cadre.wait_reply()).text
    await cadre.send_text("800")  # no dialogue was started
    assert "没有听懂" in (await cadre.wait_reply()).text
    await cadre.send_text("/adjust T1")
    choice = await cadre.wait_reply()
    await cadre.send_text("/adjust T3")  # refused: the dialogue in progress stays where it was
    assert "未分解到您的单位" in (await cadre.wait_reply()).text
    await cadre.press_button(choice, "计划值")
    assert "请输入调整后的计划值" in (await cadre.wait_reply()).text
    admin = bot.fake.user(100)  # not a cadre of any unit
    await admin.send_text("/adjust T1")
    assert "不是任何责任单位的干部" in (await admin.wait_reply()).text


@pytest.mark.parametrize(("button", "typed", "says"), [
    ("计划值", "abc", "不是有效的数值"),
    ("计划值", "1000", "与当前值相同"),
    ("计划值", "1,000万元", "与当前值相同"),
    ("计划值", "-5", "不能为负数"),
    ("完成时限", "2027-12-31", "与当前值相同"),
    ("完成时限", "2027-03-21", "早于今天"),
    ("完成时限", "2027-02-30", "不是有效的日期"),
    ("完成时限", "明年年底", "不是有效的日期"),
])
async def test_bad_new_values_are_explained_and_keep_the_step(bot, button, typed, says) -> None:
    await seed(bot)
    cadre = bot.fake.user(200)
    await cadre.send_text("/adjust T1")
    await cadre.press_button(await cadre.wait_reply(), button)
    await cadre.wait_reply()
    await cadre.send_text(typed)
    assert says in (await cadre.wait_reply()).text
    await cadre.send_text("900" if button == "计划值" else "2027/11/30")
    assert "请说明调整原因" in (await cadre.wait_reply()).text
    await cadre.send_text("太短")
    assert "过短" in (await cadre.wait_reply()).text
    await cadre.send_text(REASON)
    assert "请核对" in (await cadre.wait_reply()).text


async def test_one_pending_request_per_target_and_field(bot) -> None:
    await seed(bot)
    zhang, li = bot.fake.user(200), bot.fake.user(201)
    await request(zhang, "T1", "计划值", "800")
    await zhang.send_text("/adjust T1")
    choice = await zhang.wait_reply()
    await zhang.press_button(choice, "计划值")
    assert "已有待审批的调整申请" in (await zhang.wait_reply()).text
    await zhang.press_button(choice, "完成时限")  # the step stayed: the other field is open
    assert "完成时限" in (await zhang.wait_reply()).text
    await li.send_text("/adjust T1")
    await li.press_button(await li.wait_reply(), "Planned value")
    assert "already waits for a decision" in (await li.wait_reply()).text
    assert len(await rows(bot, TargetAdjustment)) == 1


@pytest.mark.parametrize("stop_at", ["field", "value", "reason", "summary", "summary_button"])
async def test_cancel_at_every_step_writes_nothing(bot, stop_at) -> None:
    await seed(bot)
    cadre = bot.fake.user(200)
    await cadre.send_text("/adjust T1")
    last = await cadre.wait_reply()
    steps = [("value", lambda: cadre.press_button(last, "计划值")), ("reason", lambda: cadre.send_text("800")),
             ("summary", lambda: cadre.send_text(REASON))]
    if stop_at != "field":
        for name, act in steps:
            await act()
            last = await cadre.wait_reply()
            if name == stop_at or (stop_at == "summary_button" and name == "summary"):
                break
    if stop_at == "summary_button":
        await cadre.press_button(last, "取消")
    else:
        await cadre.send_text("/cancel")
    assert "已取消" in (await cadre.wait_reply()).text
    assert await rows(bot, TargetAdjustment) == []
    assert await rows(bot, OutboxMessage) == []
    await cadre.send_text("800")
    assert "没有听懂" in (await cadre.wait_reply()).text


async def test_english_cadre_and_admins_each_in_their_language(bot) -> None:
    await seed(bot)
    cadre, zhao, liu = bot.fake.user(201), bot.fake.user(100), bot.fake.user(101)
    await cadre.send_text("/adjust T1")
    choice = await cadre.wait_reply()
    assert "Planned value now: 1,000 万元" in choice.text
    await cadre.press_button(choice, "Deadline")
    assert "The deadline is now 2027-12-31" in (await cadre.wait_reply()).text
    await cadre.send_text("2026-12-31")
    assert "cannot be in the past" in (await cadre.wait_reply()).text
    await cadre.send_text("2028-03-31")
    assert "New deadline understood as: 2028-03-31" in (await cadre.wait_reply()).text
    await cadre.send_text("Land acquisition slipped")
    summary = await cadre.wait_reply()
    assert "deadline: 2027-12-31 → 2028-03-31" in summary.text
    await cadre.press_button(summary, "Confirm")
    assert "Request sent" in (await cadre.wait_reply()).text
    assert "目标调整申请" in (await office_message(bot, zhao)).text
    english = await office_message(bot, liu)
    assert "From: 李四" in english.text
    await liu.press_button(english, "Approve")
    assert "Approved by Office Liu" in (await liu.wait_edit(english)).text
    await bot.app.bot_data.delivery.settle()
    assert "was approved by Office Liu" in (await cadre.wait_reply()).text


STEPS = ["adjust", "field", "value", "reason"]


async def _act(user, step: str) -> None:
    if step == "adjust":
        await user.send_text("/adjust T1")
    elif step == "field":
        await user.press_button(user.replies()[-1], "计划值")
    elif step == "value":
        await user.send_text("750")
    elif step == "reason":
        await user.send_text(REASON)


@pytest.mark.parametrize("stop_after", STEPS)
async def test_a_new_application_continues_the_dialogue_at_the_same_step(rig, monkeypatch, stop_after) -> None:
    async def lost(self, name, key, new_state) -> None:  # PTB's own writes never happen (a kill -9)
        return None

    monkeypatch.setattr(DbPersistence, "update_conversation", lost)
    await seed(rig)
    user = rig.fake.user(200)
    index = STEPS.index(stop_after)
    async with running_bot(rig):
        for step in STEPS[: index + 1]:
            await _act(user, step)
            await user.wait_reply()
    async with running_bot(rig):
        for step in STEPS[index + 1:]:
            await _act(user, step)
            await user.wait_reply()
        await user.press_button(user.replies()[-1], "确认提交")
        assert "已提交调整申请" in (await user.wait_reply()).text
    (adj,) = await rows(rig, TargetAdjustment)
    assert (adj.new_value, adj.reason, adj.status) == ("750", REASON, "pending")
