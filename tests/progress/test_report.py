"""/report through the fake Bot API: the whole dialogue, validation, cancel, exactly once, two cadres."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import col, select

from models.core import AuditLog, EvidenceFile
from models.people import Person
from models.plan import Assignment, Target
from models.progress import ProgressReport, ReportAttachment
from tests.support.factories import add_person, add_unit

PNG = b"\x89PNG\r\n\x1a\n" + b"site photo bytes" * 20


async def seed(rig) -> dict:
    """A village with two cadres and two targets; another village with its own target."""
    v1 = await add_unit(rig.db, rig.clock, code="V1", name="青山村")
    v2 = await add_unit(rig.db, rig.clock, code="V2", name="绿水村")
    await add_person(rig.db, rig.clock, name="张三", unit=v1, telegram_user_id=200)
    await add_person(rig.db, rig.clock, name="李四", unit=v1, telegram_user_id=201, language="en")
    await add_person(rig.db, rig.clock, name="王五", unit=v2, telegram_user_id=300)
    async with rig.db.uow() as uow:
        t1 = Target(code="T1", year=2027, title="招商引资到位资金", category="investment", measure="万元",
                    mode="zero_base", deadline=date(2027, 12, 31))
        t2 = Target(code="T2", year=2027, title="新建高标准农田", category="industry", measure="亩",
                    mode="continuous", deadline=date(2027, 10, 31))
        t3 = Target(code="T3", year=2027, title="绿水村秘密目标", category="other", measure="个",
                    mode="zero_base", deadline=date(2027, 6, 30))
        uow.session.add_all([t1, t2, t3])
        await uow.session.flush()
        uow.session.add_all([
            Assignment(target_id=t1.id, unit_id=v1.id, planned_value=Decimal(1000), weight=Decimal(2)),
            Assignment(target_id=t2.id, unit_id=v1.id, planned_value=Decimal(500), weight=Decimal(1)),
            Assignment(target_id=t3.id, unit_id=v2.id, planned_value=Decimal(3), weight=Decimal(1)),
        ])
        await uow.commit()
    return {"v1": v1, "v2": v2}


async def reports(rig) -> list[ProgressReport]:
    async with rig.db.uow() as uow:
        return list((await uow.session.exec(select(ProgressReport).order_by(col(ProgressReport.id)))).all())


async def test_full_dialogue_with_files_writes_one_report_with_its_evidence(bot, tmp_path) -> None:
    await seed(bot)
    cadre = bot.fake.user(200, "张三")
    await cadre.send_text("/report")
    menu = await cadre.wait_reply()
    assert "请选择" in menu.text and len(menu.buttons()) == 2  # only their unit's targets
    await cadre.press_button(menu, "T1 招商引资到位资金")
    ask = await cadre.wait_reply()
    assert "累计完成值" in ask.text and "万元" in ask.text
    await cadre.send_text("３５０万元")
    echo = await cadre.wait_reply()
    assert "已识别为：350 万元" in echo.text
    await cadre.send_text("两个项目资金已到账")
    assert "佐证" in (await cadre.wait_reply()).text
    await cadre.send_photo(PNG)
    assert "已收到 1 个" in (await cadre.wait_reply()).text
    await cadre.send_document(b"%PDF-1.4 contract", "合同.pdf", "application/pdf")
    assert "已收到 2 个" in (await cadre.wait_reply()).text
    await cadre.send_document(b"%PDF-1.4 contract", "合同副本.pdf", "application/pdf")  # same bytes again
    assert "已收到 2 个" in (await cadre.wait_reply()).text
    await cadre.send_text("/done")
    summary = await cadre.wait_reply()
    assert "350 万元" in summary.text and "两个项目资金已到账" in summary.text and "2 个" in summary.text
    assert await reports(bot) == []  # nothing is written before Confirm
    await cadre.press_button(summary, "确认提交")
    done = await cadre.wait_reply()
    assert "已提交" in done.text and "350 万元" in done.text
    (report,) = await reports(bot)
    assert report.value == Decimal(350) and report.note == "两个项目资金已到账"
    async with bot.db.uow() as uow:
        files = (await uow.session.exec(select(EvidenceFile))).all()
        attached = (await uow.session.exec(select(ReportAttachment))).all()
        audit = (await uow.session.exec(select(AuditLog).where(AuditLog.action == "progress.report"))).one()
    assert len(files) == 2 and len(attached) == 2
    assert audit.after["value"] == "350"
    stored = bot.app.bot_data.storage
    assert {stored.get(f.storage_key) for f in files} == {PNG, b"%PDF-1.4 contract"}
    assert all(f.storage_key.endswith(f.sha256) for f in files)


async def test_english_cadre_goes_straight_to_a_target_by_code(bot) -> None:
    await seed(bot)
    cadre = bot.fake.user(201)
    await cadre.send_text("/report t2")
    ask = await cadre.wait_reply()
    assert "Send the cumulative value" in ask.text and "亩" in ask.text
    await cadre.send_text("234.5")
    assert "Understood as: 234.5 亩" in (await cadre.wait_reply()).text
    await cadre.send_text("/skip")
    await cadre.wait_reply()
    await cadre.send_text("/done")
    summary = await cadre.wait_reply()
    assert "Note: none" in summary.text
    await cadre.press_button(summary, "Confirm")
    assert "Reported" in (await cadre.wait_reply()).text
    assert [r.value for r in await reports(bot)] == [Decimal("234.5")]


@pytest.mark.parametrize(("typed", "says"), [
    ("abc", "不是有效的数值"),
    ("-5", "不能为负数"),
    ("12亩", "不能使用“亩”"),
    ("0.00001", "小数位超过"),
])
async def test_bad_values_are_explained_and_keep_the_step(bot, typed, says) -> None:
    await seed(bot)
    cadre = bot.fake.user(200)
    await cadre.send_text("/report T1")
    await cadre.wait_reply()
    await cadre.send_text(typed)
    assert says in (await cadre.wait_reply()).text
    await cadre.send_text("120")
    assert "已识别为：120 万元" in (await cadre.wait_reply()).text


async def test_a_lower_value_needs_an_explicit_correction_with_a_reason(bot) -> None:
    await seed(bot)
    cadre = bot.fake.user(200)
    for typed in ("400", "300"):
        await cadre.send_text("/report T1")
        await cadre.wait_reply()
        await cadre.send_text(typed)
        prompt = await cadre.wait_reply()
        if typed == "300":
            assert "低于最近确认的 400 万元" in prompt.text
            await cadre.press_button(prompt, "更正")
            assert "更正原因" in (await cadre.wait_reply()).text
            await cadre.send_text("上次误将签约额计入到位资金")
            await cadre.wait_reply()
        await cadre.send_text("/skip")
        await cadre.wait_reply()
        await cadre.send_text("/done")
        summary = await cadre.wait_reply()
        await cadre.press_button(summary, "确认提交")
        await cadre.wait_reply()
    first, second = await reports(bot)
    assert (first.value, second.value) == (Decimal(400), Decimal(300))
    assert second.supersedes_id == first.id and second.correction_reason == "上次误将签约额计入到位资金"
    async with bot.db.uow() as uow:
        assert (await uow.session.exec(select(AuditLog).where(AuditLog.action == "progress.correct"))).one()


async def test_far_above_plan_asks_first_and_retype_goes_back(bot) -> None:
    await seed(bot)
    cadre = bot.fake.user(200)
    await cadre.send_text("/report T1")
    await cadre.wait_reply()
    await cadre.send_text("5000")
    check = await cadre.wait_reply()
    assert "远高于计划值 1,000 万元" in check.text
    await cadre.press_button(check, "重新输入")
    assert "累计完成值" in (await cadre.wait_reply()).text
    await cadre.send_text("1600")
    check = await cadre.wait_reply()
    await cadre.press_button(check, "确认无误")
    assert "请输入情况说明" in (await cadre.wait_reply()).text


@pytest.mark.parametrize("stop_at", ["choose", "value", "note", "files", "summary", "summary_button"])
async def test_cancel_at_every_step_writes_nothing(bot, stop_at) -> None:
    await seed(bot)
    cadre = bot.fake.user(200)
    await cadre.send_text("/report")
    menu = await cadre.wait_reply()
    steps = [
        ("choose", lambda: cadre.press(menu, menu.buttons()[0][1])),
        ("value", lambda: cadre.send_text("100")),
        ("note", lambda: cadre.send_text("说明")),
        ("files", lambda: cadre.send_photo(PNG)),
        ("summary", lambda: cadre.send_text("/done")),
    ]
    last = menu
    for name, act in steps:
        if name == stop_at:
            break
        await act()
        last = await cadre.wait_reply()
    if stop_at == "summary_button":
        await cadre.press_button(last, "取消")
    else:
        await cadre.send_text("/cancel")
    assert "已取消" in (await cadre.wait_reply()).text
    assert await reports(bot) == []
    await cadre.send_text("100")  # no dialogue any more: not taken as a value
    assert "没有听懂" in (await cadre.wait_reply()).text


async def _through_to_summary(cadre, typed="100"):
    await cadre.send_text("/report T1")
    await cadre.wait_reply()
    await cadre.send_text(typed)
    await cadre.wait_reply()
    await cadre.send_text("/skip")
    await cadre.wait_reply()
    await cadre.send_text("/done")
    return await cadre.wait_reply()


async def test_confirm_pressed_twice_or_redelivered_writes_once(bot) -> None:
    await seed(bot)
    cadre = bot.fake.user(200)
    summary = await _through_to_summary(cadre)
    data = next(d for t, d in summary.buttons() if t == "确认提交")
    press = await cadre.press(summary, data)
    first = await cadre.wait_reply()
    await bot.fake.wait_confirmed(press["update_id"])
    await bot.fake.redeliver(press["update_id"])
    await cadre.send_text("/report T1")  # proves the redelivered update was processed and ignored
    await cadre.wait_reply()
    assert len(await reports(bot)) == 1
    assert "已提交" in first.text


async def test_a_second_confirm_press_answers_like_the_first(bot) -> None:
    await seed(bot)
    cadre = bot.fake.user(200)
    summary = await _through_to_summary(cadre)
    data = next(d for t, d in summary.buttons() if t == "确认提交")
    # Two fast presses of the same button, before the keyboard disappears.
    await cadre.press(summary, data)
    await cadre.press(summary, data)
    first, second = await cadre.wait_replies(2)
    assert "已提交" in first.text and "已提交" in second.text
    assert len(await reports(bot)) == 1


async def test_another_units_target_is_refused_without_its_data(bot) -> None:
    await seed(bot)
    cadre = bot.fake.user(200)
    await cadre.send_text("/report T3")
    refusal = (await cadre.wait_reply()).text
    assert "未分解到您的单位" in refusal and "秘密" not in refusal
    outsider = bot.fake.user(300)
    await outsider.send_text("/report")
    menu = await outsider.wait_reply()
    assert [t for t, _ in menu.buttons()] == ["T3 绿水村秘密目标"]
    # A forged button for another unit's assignment is refused too.
    await outsider.press(menu, menu.buttons()[0][1])
    await outsider.wait_reply()
    assert await reports(bot) == []


async def test_two_cadres_of_one_unit_report_at_once_and_both_are_kept(bot) -> None:
    await seed(bot)
    zhang, li = bot.fake.user(200), bot.fake.user(201)
    summary_zhang = await _through_to_summary(zhang, "300")
    summary_li = await _through_to_summary(li, "320")
    await zhang.press_button(summary_zhang, "确认提交")
    await zhang.wait_reply()
    await li.press_button(summary_li, "Confirm")
    li_done = await li.wait_reply()
    assert "张三 reported on this target meanwhile, with 300 万元" in li_done.text
    assert [r.value for r in await reports(bot)] == [Decimal(300), Decimal(320)]


async def test_other_commands_work_in_the_middle_of_a_report(bot) -> None:
    await seed(bot)
    cadre = bot.fake.user(200)
    await cadre.send_text("/report T1")
    await cadre.wait_reply()
    await cadre.send_text("/mytargets")
    assert "本单位目标" in (await cadre.wait_reply()).text
    await cadre.send_text("120")  # still at the value step
    assert "已识别为：120 万元" in (await cadre.wait_reply()).text


async def test_a_closed_target_and_a_deactivated_person_are_refused(bot) -> None:
    from services.people.person import deactivate

    await seed(bot)
    async with bot.db.uow() as uow:
        target = (await uow.session.exec(select(Target).where(Target.code == "T2"))).one()
        target.closed = True
        uow.session.add(target)
        await uow.commit()
    cadre = bot.fake.user(200)
    await cadre.send_text("/report T2")
    assert "已关闭" in (await cadre.wait_reply()).text
    await cadre.send_text("/report T1")
    await cadre.wait_reply()
    async with bot.db.uow() as uow:
        code = (await uow.session.exec(select(Person.code).where(Person.telegram_user_id == 200))).one()
    await deactivate(code, actor="cli", uow=bot.db.uow(), clock=bot.clock)
    await cadre.send_text("120")  # mid-dialogue: access ended at once, nothing written
    assert "已停用" in (await cadre.wait_reply()).text
    assert await reports(bot) == []
