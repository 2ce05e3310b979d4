"""Criticism notices (通报批评): drafted from data, edited, approved (published through the outbox to bound
groups and the named units' cadres) or discarded; /bindgroup; the command line's service; long notices."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.app.persistence import DbPersistence
from models.core import AuditLog, OutboxMessage
from models.enums import Role
from models.inspection import BoundGroup, Inspection, Notice
from models.items import ItemPart, SupervisionItem
from models.people import RoleMembership
from models.plan import Assignment, Target
from models.progress import ProgressReport
from services.core.errors import DomainError
from services.core.text import TELEGRAM_LIMIT, split_text, utf16_len
from services.inspection import notice as notices
from services.inspection.notice_draft import parse_period
from tests.support.botrig import running_bot
from tests.support.factories import add_person, add_unit

TZ = ZoneInfo("Asia/Shanghai")
GROUP = -1001234567890


def at(m: int, d: int, y: int = 2027) -> datetime:
    return datetime(y, m, d, 10, 0, tzinfo=TZ)


async def seed(rig) -> dict:
    """V1 青山村: a poor visit, a visit with false figures, an overdue rectification, T1 at red pace.
    V2 绿水村: T2 overdue. V3 白云村: a good visit, T1 on track, rectifications accepted or not yet due."""
    v1 = await add_unit(rig.db, rig.clock, code="V1", name="青山村")
    v2 = await add_unit(rig.db, rig.clock, code="V2", name="绿水村")
    v3 = await add_unit(rig.db, rig.clock, code="V3", name="白云村")
    zhang = await add_person(rig.db, rig.clock, name="张三", unit=v1, telegram_user_id=200)
    await add_person(rig.db, rig.clock, name="李四", unit=v1)  # never joined: nothing to send
    await add_person(rig.db, rig.clock, name="王五", unit=v2, telegram_user_id=300)
    await add_person(rig.db, rig.clock, name="孙六", unit=v3, telegram_user_id=400)
    qian = await add_person(rig.db, rig.clock, name="钱督查", roles=(Role.INSPECTOR,), telegram_user_id=500)
    zhao = await add_person(rig.db, rig.clock, name="赵主任", roles=(Role.ADMIN,), telegram_user_id=100)
    async with rig.db.uow() as uow:
        s = uow.session
        t1 = Target(code="T1", year=2027, title="招商引资到位资金", category="investment", measure="万元",
                    mode="zero_base", deadline=date(2027, 12, 31))
        t2 = Target(code="T2", year=2027, title="春季植树", category="other", measure="亩", mode="zero_base",
                    deadline=date(2027, 3, 15))
        s.add_all([t1, t2])
        await s.flush()
        a11 = Assignment(target_id=t1.id, unit_id=v1.id, planned_value=Decimal(1000))
        a13 = Assignment(target_id=t1.id, unit_id=v3.id, planned_value=Decimal(1000))
        a22 = Assignment(target_id=t2.id, unit_id=v2.id, planned_value=Decimal(100))
        s.add_all([a11, a13, a22])
        await s.flush()
        for a, value in ((a11, 100), (a13, 300), (a22, 50)):
            s.add(ProgressReport(assignment_id=a.id, reporter_person_id=zhang.id, value=Decimal(value),
                                 confirmed_at=at(3, 1)))

        def visit(unit, when, rating, assignment=None, **kw) -> Inspection:
            return Inspection(inspector_person_id=qian.id, unit_id=unit.id, assignment_id=assignment, rating=rating,
                              visited_at=when, **kw)

        poor = visit(v1, at(3, 5), "poor", a11.id, findings="现场未见施工，项目用地尚未平整。")
        false_figures = visit(v1, at(3, 10), "acceptable", a11.id, claimed_value=Decimal(100),
                              verified_value=Decimal(60), flags=[
                                  {"kind": "stale", "params": {}},
                                  {"kind": "integrity", "params": {"claimed": "100", "verified": "60"}}])
        good = visit(v3, at(3, 12), "good", a13.id, flags=[{"kind": "off_site", "params": {}}])
        last_year = visit(v2, at(12, 20, 2026), "poor", a22.id, findings="去年的问题")
        s.add_all([poor, false_figures, good, last_year])
        await s.flush()

        async def item(unit, deadline, task, closed_at=None) -> None:  # a rectification: an item from the visit
            row = SupervisionItem(source="inspection", inspection_id=poor.id, task=task, deadline=deadline,
                                  opened_by_person_id=qian.id, created_at=at(3, 5),
                                  state="closed" if closed_at else "open", closed_at=closed_at)
            s.add(row)
            await s.flush()
            s.add(ItemPart(item_id=row.id, unit_id=unit.id, state="closed" if closed_at else "signed",
                           assigned_at=at(3, 5), sign_due_at=at(3, 5), signed_at=at(3, 5), signed_by_person_id=zhang.id,
                           closed_at=closed_at))

        await item(v1, date(2027, 3, 15), "平整项目用地并开工建设")
        await item(v3, date(2027, 3, 10), "白云村已验收", closed_at=at(3, 9))
        await item(v3, date(2027, 4, 30), "白云村未到期")
        await uow.commit()
    return {"zhao": zhao}


async def rows(rig, model, *where) -> list:
    async with rig.db.uow() as uow:
        order = col(model.id) if hasattr(model, "id") else col(model.chat_id)
        return list((await uow.session.exec(select(model).where(*where).order_by(order))).all())


async def draft(bot, admin, period: str = "2027-Q1"):
    await admin.send_text(f"/notice {period}")
    return await admin.wait_reply()


async def bind(bot, admin_id: int = 100):
    group = bot.fake.group(GROUP, "县目标工作群")
    await group.send_text(bot.fake.user(admin_id), "/bindgroup")
    assert "已绑定本群" in (await group.wait_reply()).text
    return group


async def test_a_draft_names_exactly_the_units_and_facts_of_the_period(bot) -> None:
    await seed(bot)
    shown = await draft(bot, bot.fake.user(100))
    (notice,) = await rows(bot, Notice)
    assert (notice.period, notice.status, notice.units) == ("2027-Q1", "draft", ["V1", "V2"])
    assert notice.title == "关于2027年第一季度目标任务推进情况的通报" and notice.drafted_by.startswith("person:")
    body = notice.body
    assert body.startswith(notice.title) and "白云村" not in body and "去年的问题" not in body
    for part in ("一、基本情况", "二、存在问题", "三、工作要求", "限期整改", "举一反三", "县目标办\n2027年3月22日",
                 "共组织实地督查3次，其中现场评定为“差”的1次，发现上报数据与现场核实不符1起",
                 "逾期未完成整改事项1项，进度严重滞后或逾期未完成的目标任务2项。共有2个责任单位"):
        assert part in body, part
    v1 = body[body.index("（一）青山村"):body.index("（二）绿水村")]
    assert "1. 2027年3月5日，督查组对“招商引资到位资金”（T1）进行实地督查，现场评定为“差”，发现问题：现场未见施工" in v1
    assert "2. 2027年3月10日" in v1 and "上报完成100 万元，现场核实为60 万元，上报数据与实际不符" in v1
    assert "3. 督查发现的问题“平整项目用地并开工建设”，整改时限为2027年3月15日，截至2027年3月22日已逾期7天" in v1
    assert "4. “招商引资到位资金”（T1）计划完成1,000 万元，截至2027年3月22日应完成219.78 万元" in v1
    assert "实际完成60 万元（单位上报100 万元）" in v1
    assert "序时进度的27.3%" in v1
    v2 = body[body.index("（二）绿水村"):body.index("三、工作要求")]
    assert "“春季植树”（T2）计划完成100 亩，完成时限为2027年3月15日" in v2 and "已逾期7天" in v2 and "50%" in v2
    assert f"通报草稿 #{notice.id}" in shown.text and "青山村、绿水村" in shown.text
    assert shown.buttons() == [("批准发布", f"ntc:ok:{notice.id}"), ("修改", f"ntc:edit:{notice.id}"),
                               ("作废", f"ntc:no:{notice.id}")]
    (entry,) = await rows(bot, AuditLog, AuditLog.action == "notice.draft")
    assert entry.after["units"] == ["V1", "V2"] and entry.after["facts"] == 5
    again = await draft(bot, bot.fake.user(100))  # a pending draft of the period: shown, not drafted twice
    assert "已有待审批的通报草稿" in again.text and len(await rows(bot, Notice)) == 1


async def test_approval_publishes_to_bound_groups_and_the_named_units_cadres_only(bot) -> None:
    ids = await seed(bot)
    admin = bot.fake.user(100)
    group = await bind(bot)
    shown = await draft(bot, admin)
    assert "1 个已绑定群聊" in shown.text and "2 名干部" in shown.text
    assert await rows(bot, OutboxMessage) == []  # nothing before approval
    await admin.press_button(shown, "批准发布")
    edited = await admin.wait_edit(shown)
    assert "已由 赵主任" in edited.text and "1 个群聊、2 名干部" in edited.text and edited.buttons() == []
    assert "已批准发布" in (await admin.wait_callback_answer())["text"]
    (notice,) = await rows(bot, Notice)
    assert notice.status == "published" and notice.decided_by_person_id == ids["zhao"].id and notice.decided_at
    await bot.app.bot_data.delivery.settle()
    (posted,) = await group.wait_replies(1)
    assert posted.plain_text == notice.body and posted.text.startswith("<b>关于2027年第一季度")
    for user_id in (200, 300):
        assert (await bot.fake.user(user_id).wait_reply()).plain_text == notice.body
    assert bot.fake.messages_to(400) == [] and bot.fake.messages_to(500) == []
    (entry,) = await rows(bot, AuditLog, AuditLog.action == "notice.publish")
    assert entry.actor.startswith("person:") and entry.after == {
        "status": "published", "units": ["V1", "V2"], "groups": 1, "people": 2}


async def test_edit_replaces_the_text_audited_and_units_no_longer_named_are_not_told(bot) -> None:
    await seed(bot)
    admin = bot.fake.user(100)
    group = await bind(bot)
    shown = await draft(bot, admin)
    (notice,) = await rows(bot, Notice)
    await admin.press_button(shown, "修改")
    assert "完整全文" in (await admin.wait_reply()).text
    await admin.send_text("/help")  # another command still works in the middle of the edit
    await admin.wait_reply()
    await admin.send_text("/cancel")
    assert "已取消修改" in (await admin.wait_reply()).text
    await admin.press_button(shown, "修改")
    await admin.wait_reply()
    await admin.send_text(" \n ")
    assert "不能为空" in (await admin.wait_reply()).text
    new = "关于青山村目标任务推进情况的通报\n\n青山村招商引资进度严重滞后，予以通报批评。\n\n县目标办"
    await admin.send_text(new)
    again = await admin.wait_reply()
    assert "已修改" in again.text and "通报对象：青山村\n" in again.text and new.split("\n")[2] in again.text
    assert [d for _, d in again.buttons()] == [f"ntc:ok:{notice.id}", f"ntc:edit:{notice.id}", f"ntc:no:{notice.id}"]
    (notice,) = await rows(bot, Notice)
    assert (notice.title, notice.body, notice.units) == ("关于青山村目标任务推进情况的通报", new, ["V1"])
    (entry,) = await rows(bot, AuditLog, AuditLog.action == "notice.edit")
    assert entry.before["units"] == ["V1", "V2"] and entry.after["body"] == new
    await admin.send_text("随便说说")  # the edit is over
    assert "没有听懂" in (await admin.wait_reply()).text
    await admin.press_button(again, "批准发布")
    await admin.wait_edit(again)
    await bot.app.bot_data.delivery.settle()
    assert (await group.wait_reply()).plain_text == new
    assert (await bot.fake.user(200).wait_reply()).plain_text == new
    assert bot.fake.messages_to(300) == []


async def test_discard_sends_nothing_and_a_second_press_changes_nothing(bot) -> None:
    await seed(bot)
    admin = bot.fake.user(100)
    await bind(bot)
    shown = await draft(bot, admin)
    discard = next(d for t, d in shown.buttons() if t == "作废")
    first = await admin.press(shown, discard)
    await admin.press(shown, discard)  # before the keyboard disappears
    await admin.wait_edit(shown)
    await bot.fake.wait_confirmed(first["update_id"])
    await bot.fake.redeliver(first["update_id"])
    (notice,) = await rows(bot, Notice)
    assert notice.status == "discarded" and "作废" in shown.text and shown.buttons() == []
    v = await notices.decide(notice.id, True, user_id=100, update_id=None, uow=bot.db.uow(), clock=bot.clock)
    assert v.already and v.status == "discarded"
    await bot.app.bot_data.delivery.settle()
    assert await rows(bot, OutboxMessage) == []
    assert len(await rows(bot, AuditLog, col(AuditLog.action).like("notice.%"))) == 2  # draft, discard


async def test_a_second_approval_press_publishes_once(bot) -> None:
    await seed(bot)
    admin = bot.fake.user(100)
    group = await bind(bot)
    shown = await draft(bot, admin)
    approve = next(d for t, d in shown.buttons() if t == "批准发布")
    first = await admin.press(shown, approve)
    await admin.press(shown, approve)
    await admin.wait_edit(shown)
    offer = await admin.wait_reply()  # once: 督办 for the units it named (a supervision item)
    assert offer.buttons() == [("督办被通报单位", "it:nt:1")]
    await bot.fake.wait_confirmed(first["update_id"])
    await bot.fake.redeliver(first["update_id"])
    await admin.send_text("/notice")
    assert "没有待审批的通报草稿" in (await admin.wait_reply()).text
    assert [m.text for m in admin.replies()].count(offer.text) == 1
    await bot.app.bot_data.delivery.settle()
    assert len(await rows(bot, OutboxMessage)) == 3 and len(group.replies()) == 2  # 1 publication + /bindgroup
    assert len(await rows(bot, AuditLog, AuditLog.action == "notice.publish")) == 1


async def test_non_admins_are_refused(bot) -> None:
    await seed(bot)
    cadre = bot.fake.user(200)
    await cadre.send_text("/notice 2027-Q1")
    assert "只有目标办" in (await cadre.wait_reply()).text
    await cadre.send_text("/notice")
    assert "只有目标办" in (await cadre.wait_reply()).text
    shown = await draft(bot, bot.fake.user(100))
    (notice,) = await rows(bot, Notice)
    with pytest.raises(DomainError) as refused:
        await notices.decide(notice.id, True, user_id=200, update_id=None, uow=bot.db.uow(), clock=bot.clock)
    assert refused.value.key == "notice.not_admin"
    async with bot.db.uow() as uow:  # no longer an admin by the time of the press
        for m in (await uow.session.exec(select(RoleMembership).where(RoleMembership.role == "admin"))).all():
            await uow.session.delete(m)
        await uow.commit()
    admin = bot.fake.user(100)
    await admin.press_button(shown, "批准发布")
    assert "只有目标办" in (await admin.wait_callback_answer())["text"]
    assert (await rows(bot, Notice))[0].status == "draft" and shown.edits == []


async def test_bindgroup_by_a_non_admin_or_a_stranger_is_politely_refused(bot) -> None:
    await seed(bot)
    group = bot.fake.group(GROUP, "县目标工作群")
    for user in (bot.fake.user(200), bot.fake.user(999)):
        await group.send_text(user, "/bindgroup")
        assert "只有县目标办工作人员" in (await group.wait_reply()).text
    assert await rows(bot, BoundGroup) == []
    await group.send_text(bot.fake.user(100), "/bindgroup")
    assert "已绑定" in (await group.wait_reply()).text
    await group.send_text(bot.fake.user(200), "/unbindgroup")
    assert "只有县目标办工作人员" in (await group.wait_reply()).text
    await group.send_text(bot.fake.user(100), "/unbindgroup")
    assert "已解除" in (await group.wait_reply()).text
    (bound,) = await rows(bot, BoundGroup)
    assert not bound.active and bound.title == "县目标工作群"
    assert [e.action for e in await rows(bot, AuditLog, col(AuditLog.entity) == "group")] == ["group.bind",
                                                                                            "group.unbind"]
    admin = bot.fake.user(100)
    await admin.press_button(await draft(bot, admin), "批准发布")  # unbound: the group gets nothing
    await admin.wait_callback_answer()
    await bot.app.bot_data.delivery.settle()
    assert len(group.replies()) == 5
    await admin.send_text("/bindgroup")
    assert "群聊中发送" in (await admin.wait_reply()).text


@pytest.mark.parametrize(("period", "says"), [
    ("2026-03", "没有需要通报的问题"), ("2027-Q3", "尚未开始"), ("2027-Q5", "无法识别期间"),
    ("第一季度", "无法识别期间"), ("2027-13", "无法识别期间"),
])
async def test_empty_future_or_bad_periods_make_no_draft(bot, period, says) -> None:
    await seed(bot)
    assert says in (await draft(bot, bot.fake.user(100), period)).text
    assert await rows(bot, Notice) == []


@pytest.mark.parametrize(("typed", "code", "start", "end", "label"), [
    ("2027-Q1", "2027-Q1", date(2027, 1, 1), date(2027, 3, 31), "2027年第一季度"),
    ("2027-q4", "2027-Q4", date(2027, 10, 1), date(2027, 12, 31), "2027年第四季度"),
    ("２０２８-02", "2028-02", date(2028, 2, 1), date(2028, 2, 29), "2028年2月"),
    ("2027-3", "2027-03", date(2027, 3, 1), date(2027, 3, 31), "2027年3月"),
    ("2027-H2", "2027-H2", date(2027, 7, 1), date(2027, 12, 31), "2027年下半年"),
    ("2027", "2027", date(2027, 1, 1), date(2027, 12, 31), "2027年度"),
])
def test_periods(typed, code, start, end, label) -> None:
    p = parse_period(typed)
    assert (p.code, p.start, p.end, p.label) == (code, start, end, label)


async def test_the_command_line_service_drafts_and_the_office_approves_in_chat(bot) -> None:
    await seed(bot)
    v = await notices.draft_for_cli("2027-Q1", uow=bot.db.uow(), clock=bot.clock)
    text = notices.cli_text(v, "zh")
    assert f"#{v.id}" in text and "/notice" in text and text.endswith(v.body) and not v.existing
    (notice,) = await rows(bot, Notice)
    assert notice.drafted_by == "cli" and notice.units == ["V1", "V2"]
    again = await notices.draft_for_cli("2027-q1", uow=bot.db.uow(), clock=bot.clock)
    assert again.existing and again.id == v.id and "未重复生成" in notices.cli_text(again, "zh")
    with pytest.raises(DomainError) as empty:
        await notices.draft_for_cli("2026-H1", uow=bot.db.uow(), clock=bot.clock)
    assert empty.value.key == "notice.no_facts"
    admin = bot.fake.user(100)
    await admin.send_text("/notice")
    listed = await admin.wait_reply()
    assert "起草：命令行" in listed.text and listed.buttons()[0] == ("批准发布", f"ntc:ok:{v.id}")
    await admin.press_button(listed, "批准发布")
    assert "0 个群聊、2 名干部" in (await admin.wait_edit(listed)).text


async def test_a_long_notice_is_split_in_order_under_the_limit(bot) -> None:
    await seed(bot)
    units = [await add_unit(bot.db, bot.clock, code=f"X{n:03d}", name=f"第{n}号很长名字的行政村") for n in range(80)]
    async with bot.db.uow() as uow:  # 80 more villages, each far behind on T1
        t1 = (await uow.session.exec(select(Target).where(Target.code == "T1"))).one()
        uow.session.add_all([Assignment(target_id=t1.id, unit_id=u.id, planned_value=Decimal(1000)) for u in units])
        await uow.commit()
    admin = bot.fake.user(100)
    group = await bind(bot)
    await admin.send_text("/notice 2027-Q1")
    await admin.wait_reply(lambda m: bool(m.buttons()))
    parts = admin.replies()
    (notice,) = await rows(bot, Notice)
    assert utf16_len(notice.body) > 2 * TELEGRAM_LIMIT and len(parts) >= 3
    assert [bool(p.buttons()) for p in parts] == [False] * (len(parts) - 1) + [True]
    assert all(utf16_len(p.plain_text) <= TELEGRAM_LIMIT for p in parts) and "第79号" in parts[-1].plain_text
    await admin.press_button(parts[-1], "批准发布")
    await admin.wait_edit(parts[-1])
    await bot.app.bot_data.delivery.settle()
    posted = group.replies()[1:]
    assert len(posted) >= 3 and all(utf16_len(p.plain_text) <= TELEGRAM_LIMIT for p in posted)
    assert [p.plain_text.rsplit("\n", 1)[1] for p in posted] == [f"（共{len(posted)}条，第{n}条）"
                                                                 for n in range(1, len(posted) + 1)]
    assert "\n".join(p.plain_text.rsplit("\n", 1)[0] for p in posted) == notice.body
    assert len(bot.fake.messages_to(200)) == len(posted)


def test_split_text_cuts_between_lines_and_inside_a_line_only_if_it_must() -> None:
    text = "甲" * 10 + "\n" + "乙" * 25 + "\n" + "😀" * 3
    assert split_text(text, 12) == ["甲" * 10, "乙" * 12, "乙" * 12, "乙\n" + "😀" * 3]
    assert split_text("😀" * 7, 12) == ["😀" * 6, "😀"]  # two UTF-16 units each, never cut in half
    assert split_text("短\n文本", 100) == ["短\n文本"]


async def test_an_edit_in_progress_survives_a_restart_and_takes_a_text_file(rig, monkeypatch) -> None:
    async def lost(self, name, key, new_state) -> None:  # PTB's own writes never happen (a kill -9)
        return None

    monkeypatch.setattr(DbPersistence, "update_conversation", lost)
    await seed(rig)
    admin = rig.fake.user(100)
    async with running_bot(rig):
        await admin.press_button(await draft(rig, admin), "修改")
        await admin.wait_reply()
    async with running_bot(rig):  # a long text comes as a .txt file, UTF-8 or (Windows) GBK
        await admin.send_document("关于青山村的通报\n正文".encode("gb18030"), "notice.txt", "text/plain")
        assert "已修改" in (await admin.wait_reply()).text
        await admin.send_text("还在修改吗")  # the dialogue ended with the edit
        assert "没有听懂" in (await admin.wait_reply()).text
    (notice,) = await rows(rig, Notice)
    assert notice.title == "关于青山村的通报" and notice.status == "draft"
