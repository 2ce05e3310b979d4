"""/mytargets and /history through the fake Bot API."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import select

from models.enums import Role
from models.people import Person
from models.plan import Assignment, Target
from models.progress import ProgressReport, TargetAdjustment
from tests.progress.test_report import seed
from tests.support.factories import add_person, add_unit


async def _report(rig, code: str, value: str, who: int, *, reason: str | None = None, note: str = "") -> None:
    async with rig.db.uow() as uow:
        s = uow.session
        target = (await s.exec(select(Target).where(Target.code == code))).one()
        assignment = (await s.exec(select(Assignment).where(Assignment.target_id == target.id))).first()
        person = (await s.exec(select(Person).where(Person.telegram_user_id == who))).one()
        last = (await s.exec(select(ProgressReport).where(ProgressReport.assignment_id == assignment.id)
                             .order_by(ProgressReport.id.desc()))).first()
        s.add(ProgressReport(assignment_id=assignment.id, reporter_person_id=person.id, value=Decimal(value),
                             note=note, confirmed_at=rig.clock.now(), correction_reason=reason,
                             supersedes_id=last.id if reason and last else None))
        await uow.commit()
    rig.clock.advance(timedelta(hours=1))


async def test_mytargets_shows_pace_sorted_by_urgency(bot) -> None:
    await seed(bot)
    # On 2027-03-22, T1 (0→1000 by Dec 31) expects about 219; T2 (0→500 by Oct 31) about 133.
    await _report(bot, "T1", "300", 200)
    await _report(bot, "T2", "50", 200)
    cadre = bot.fake.user(200)
    await cadre.send_text("/mytargets")
    text = (await cadre.wait_reply()).text
    assert text.index("新建高标准农田") < text.index("招商引资到位资金")  # red before on track
    assert "🔴" in text and "红色预警" in text and "🟢" in text and "进度正常" in text
    assert "完成 300 万元（30%）" in text and "剩余 284 天" in text
    english = bot.fake.user(201)
    await english.send_text("/mytargets")
    assert "reached 300 万元 (30%)" in (await english.wait_reply()).text


async def test_mytargets_pages_with_buttons(bot) -> None:
    unit = await add_unit(bot.db, bot.clock, code="V9", name="大村")
    await add_person(bot.db, bot.clock, name="赵六", unit=unit, telegram_user_id=210)
    async with bot.db.uow() as uow:
        for i in range(14):
            t = Target(code=f"K{i:02d}", year=2027, title=f"目标{i:02d}", category="other", measure="个",
                       mode="zero_base", deadline=date(2027, 12, 1) + timedelta(days=i))
            uow.session.add(t)
            await uow.session.flush()
            uow.session.add(Assignment(target_id=t.id, unit_id=unit.id, planned_value=Decimal(10)))
        await uow.commit()
    cadre = bot.fake.user(210)
    await cadre.send_text("/mytargets")
    first = await cadre.wait_reply()
    assert "第 1/3 页" in first.text and "目标00" in first.text and "目标06" not in first.text
    await cadre.press_button(first, "下一页 ▶")
    second = await cadre.wait_edit(first)
    assert "第 2/3 页" in second.text and "目标06" in second.text
    assert [t for t, _ in second.buttons()] == ["◀ 上一页", "下一页 ▶"]


async def test_mytargets_for_someone_without_a_unit(bot) -> None:
    await add_person(bot.db, bot.clock, name="领导", telegram_user_id=220, roles=(Role.LEADER,))
    leader = bot.fake.user(220)
    await leader.send_text("/mytargets")
    assert "不是任何单位的干部" in (await leader.wait_reply()).text


async def test_history_shows_reports_corrections_and_adjustments(bot) -> None:
    await seed(bot)
    await _report(bot, "T1", "400", 200, note="首批资金到位")
    await _report(bot, "T1", "350", 201, reason="重复计算了一笔")
    async with bot.db.uow() as uow:
        a = (await uow.session.exec(select(Assignment))).first()
        person = (await uow.session.exec(select(Person).where(Person.telegram_user_id == 200))).one()
        uow.session.add(TargetAdjustment(assignment_id=a.id, requested_by_person_id=person.id,
                                         field_name="planned_value", old_value="1000", new_value="1200",
                                         reason="新增项目", status="pending", requested_at=bot.clock.now()))
        await uow.commit()
    cadre = bot.fake.user(200)
    await cadre.send_text("/history t1")
    text = (await cadre.wait_reply()).text
    assert "张三 报送（第 1 号）：400 万元" in text and "说明：首批资金到位" in text
    assert "李四 报送（第 2 号）：350 万元" in text and "更正（替代第 1 号），原因：重复计算了一笔" in text
    assert "申请调整计划值：1,000 万元 → 1,200 万元（待审批）" in text
    assert text.index("第 1 号") < text.index("第 2 号") < text.index("申请调整")


async def test_history_is_refused_for_another_units_target_and_needs_a_code(bot) -> None:
    await seed(bot)
    cadre = bot.fake.user(200)
    await cadre.send_text("/history T3")
    refusal = (await cadre.wait_reply()).text
    assert "未分解到您的单位" in refusal and "秘密" not in refusal
    await cadre.send_text("/history")
    assert "用法" in (await cadre.wait_reply()).text


async def test_the_office_reads_any_history_naming_the_unit_when_needed(bot) -> None:
    await seed(bot)
    await add_person(bot.db, bot.clock, name="主任", telegram_user_id=230, roles=(Role.ADMIN,))
    async with bot.db.uow() as uow:
        t1 = (await uow.session.exec(select(Target).where(Target.code == "T1"))).one()
        v2 = (await uow.session.exec(select(Assignment).where(Assignment.target_id != t1.id))).all()[-1]
        uow.session.add(Assignment(target_id=t1.id, unit_id=v2.unit_id, planned_value=Decimal(10)))
        await uow.commit()
    admin = bot.fake.user(230)
    await admin.send_text("/history T1")
    assert "V1, V2" in (await admin.wait_reply()).text
    await admin.send_text("/history T1 V2")
    assert "绿水村" in (await admin.wait_reply()).text


async def test_history_pages_back_to_the_oldest_report(bot) -> None:
    """25 reports: the latest 10 first (16–25), ◀ the 10 before (6–15), ◀ the oldest 5 (1–5), ▶ back."""
    await seed(bot)
    for n in range(1, 26):
        await _report(bot, "T1", str(10 * n), 200)
    cadre = bot.fake.user(200)
    await cadre.send_text("/history T1")
    latest = await cadre.wait_reply()
    assert "（第 3/3 页，共 25 条）" in latest.text and "第 25 号" in latest.text and "第 16 号" in latest.text
    assert "第 15 号" not in latest.text and [t for t, _ in latest.buttons()] == ["◀ 更早"]
    await cadre.press_button(latest, "◀ 更早")
    middle = await cadre.wait_edit(latest)
    assert "（第 2/3 页，共 25 条）" in middle.text and "第 6 号" in middle.text and "第 15 号" in middle.text
    assert [t for t, _ in middle.buttons()] == ["◀ 更早", "更新 ▶"]
    await cadre.press_button(middle, "◀ 更早")
    oldest = await cadre.wait_edit(middle)
    assert "（第 1/3 页，共 25 条）" in oldest.text and "第 1 号" in oldest.text and "第 6 号" not in oldest.text
    assert oldest.text.index("第 1 号") < oldest.text.index("第 5 号")
    await cadre.press_button(oldest, "更新 ▶")
    assert "（第 2/3 页，共 25 条）" in (await cadre.wait_edit(oldest)).text
    english = bot.fake.user(201)
    await english.send_text("/history T1")
    assert "(page 3 of 3, 25 in all)" in (await english.wait_reply()).text
