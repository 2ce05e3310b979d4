"""The office's verdicts on evidence through the fake Bot API (issue #15 §1): a report beyond the inspector's
finding is kept as "claimed, not verified" and the admins decide on the unit's new evidence; a finding whose
evidence was flagged off site waits for an admin's confirmation before it counts. Both audited, exactly once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlmodel import col, select

from models.core import AuditLog
from models.enums import Role
from models.inspection import Inspection
from models.progress import ProgressReport
from tests.inspection.test_inspect import V2, seed, visit
from tests.inspection.test_inspect_flags import report
from tests.support.factories import add_person
from tests.support.photos import jpeg

PHOTO = jpeg(7)


async def setup(bot) -> None:
    """青山村 (cadre 张三 200) with T1 招商引资到位资金 (plan 1,000 万元); admins 赵主任 (zh) and Office Liu (en);
    张三 reported 500, then 督查甲 (500) verified 300 on site."""
    await seed(bot)
    await add_person(bot.db, bot.clock, name="赵主任", roles=(Role.ADMIN,), telegram_user_id=100)
    await add_person(bot.db, bot.clock, name="Office Liu", roles=(Role.ADMIN,), telegram_user_id=101, language="en")


async def verified_visit(bot, value: str = "300", **kwargs) -> None:
    await report(bot, "T1", "500", 200)
    await visit(bot, bot.fake.user(500), value=value, **kwargs)
    bot.clock.advance(timedelta(hours=1))


async def report_with_photo(cadre, value: str) -> str:
    """/report T1 with a note and one photo, confirmed; the reply."""
    await cadre.send_text("/report T1")
    await cadre.wait_reply()
    await cadre.send_text(value)
    await cadre.wait_reply()
    await cadre.send_text("新签约项目资金到账")
    await cadre.wait_reply()
    await cadre.send_photo(PHOTO)
    await cadre.wait_reply()
    await cadre.send_text("/done")
    summary = await cadre.wait_reply()
    await cadre.press_button(summary, "确认提交")
    return (await cadre.wait_reply()).text


async def office(bot, admin, prefix: str):
    await bot.app.bot_data.delivery.settle()
    return await admin.wait_reply(lambda m: m.text is not None and f"{prefix}:ok:" in str(m.buttons()))


async def mytargets(cadre) -> str:
    await cadre.send_text("/mytargets")
    return (await cadre.wait_reply()).text


async def test_the_office_accepts_new_evidence_beyond_the_finding(bot) -> None:
    """Claimed 500, verified 300, then 800 reported with a photo: 300 still counts (800 claimed, not verified);
    the admins get the request with the photo; 赵主任 accepts → 800 counts, 张三 is told; Office Liu's later
    press changes nothing and says who decided."""
    await setup(bot)
    await verified_visit(bot)
    cadre = bot.fake.user(200, "张三")
    done = await report_with_photo(cadre, "800")
    assert "已提交" in done and "超过现场核实值 300 万元" in done and "上报未核实" in done
    assert "完成 300 万元（上报 800 万元，未经核实，不计入；以核实值为准）（30%）" in await mytargets(cadre)

    zhao, liu = bot.fake.user(100, "赵主任"), bot.fake.user(101, "Office Liu")
    asked = await office(bot, zhao, "rv")
    assert "张三（青山村）报送 <b>招商引资到位资金</b>（T1）累计完成 800 万元，超过现场核实值 300 万元" in asked.text
    await zhao.press_button(asked, "📎 查看佐证（1）")
    shown = await zhao.wait_reply(lambda m: m.method == "sendPhoto")
    assert bot.fake.files[shown.file_id].data == PHOTO  # the unit's own photo
    await zhao.press_button(asked, "✅ 通过")
    decided = await zhao.wait_edit(asked)
    assert "已通过（赵主任）：按 800 万元 计入" in decided.text and decided.buttons() == []
    await bot.app.bot_data.delivery.settle()
    told = await cadre.wait_reply(lambda m: m.text is not None and "审核通过" in m.text)
    assert "800 万元" in told.text
    assert "完成 800 万元（80%）" in await mytargets(cadre)

    english = await office(bot, liu, "rv")
    assert "Evidence review" in english.text
    await liu.press_button(english, "✅ Accept")
    again = await liu.wait_edit(english)
    assert "赵主任 has decided this already" in again.text
    async with bot.db.uow() as uow:
        entries = (await uow.session.exec(select(AuditLog).where(col(AuditLog.action).startswith("progress.review"))
                                          .order_by(col(AuditLog.id)))).all()
        (claim,) = (await uow.session.exec(select(ProgressReport).where(ProgressReport.review.is_not(None)))).all()
    assert [e.action for e in entries] == ["progress.review_request", "progress.review_accept"]
    assert (claim.review, claim.value) == ("accepted", Decimal(800))


async def test_a_rejected_claim_leaves_the_finding_standing(bot) -> None:
    """The same claim of 800 rejected: 300 still counts; 张三 is told the verified value stands."""
    await setup(bot)
    await verified_visit(bot)
    cadre = bot.fake.user(200, "张三")
    await report_with_photo(cadre, "800")
    zhao = bot.fake.user(100, "赵主任")
    asked = await office(bot, zhao, "rv")
    await zhao.press_button(asked, "❌ 驳回")
    assert "已驳回（赵主任）：仍以 300 万元 为准" in (await zhao.wait_edit(asked)).text
    await bot.app.bot_data.delivery.settle()
    told = await cadre.wait_reply(lambda m: m.text is not None and "驳回" in m.text)
    assert "仍以核实值 300 万元 为准" in told.text
    assert "完成 300 万元（上报 800 万元，未经核实，不计入；以核实值为准）（30%）" in await mytargets(cadre)


async def test_a_report_below_the_finding_counts_without_review(bot) -> None:
    """Worse than the finding (a correction down to 250): it counts at once, nobody is asked."""
    await setup(bot)
    await verified_visit(bot)
    await report(bot, "T1", "250", 200)
    assert "完成 250 万元（25%）" in await mytargets(bot.fake.user(200, "张三"))
    async with bot.db.uow() as uow:
        assert (await uow.session.exec(select(ProgressReport).where(ProgressReport.review.is_not(None)))).all() == []


async def test_a_finding_flagged_off_site_counts_once_an_admin_confirms_it(bot) -> None:
    """Claimed 500; 督查甲 verifies 300 from a location 6 km off site: the finding waits (500 counts, shown with
    the held finding); 赵主任 confirms → 300 counts (500 claimed, not verified); audited."""
    await setup(bot)
    await verified_visit(bot, at=V2)
    cadre = bot.fake.user(200, "张三")
    text = await mytargets(cadre)
    assert "完成 500 万元（50%）" in text and "督查核实值 1 项待目标办确认" in text
    zhao = bot.fake.user(100, "赵主任")
    asked = await office(bot, zhao, "vh")
    assert "督查甲" in asked.text and "核实值 300 万元" in asked.text and "定位不在现场" in asked.text
    await zhao.press_button(asked, "✅ 确认核实值")
    assert "已确认（赵主任）：核实值 300 万元 计入" in (await zhao.wait_edit(asked)).text
    text = await mytargets(cadre)
    assert "完成 300 万元（上报 500 万元，未经核实，不计入；以核实值为准）（30%）" in text
    assert "待目标办确认" not in text
    async with bot.db.uow() as uow:
        (row,) = (await uow.session.exec(select(Inspection))).all()
        entry = (await uow.session.exec(select(AuditLog).where(AuditLog.action == "inspection.confirm"))).one()
    assert row.confirmation == "confirmed" and entry.after["verified"] == "300"


async def test_a_rejected_flagged_finding_never_counts(bot) -> None:
    await setup(bot)
    await verified_visit(bot, at=V2)
    zhao = bot.fake.user(100, "赵主任")
    asked = await office(bot, zhao, "vh")
    await zhao.press_button(asked, "❌ 不予采信")
    assert "不予采信（赵主任）" in (await zhao.wait_edit(asked)).text
    text = await mytargets(bot.fake.user(200, "张三"))
    assert "完成 500 万元（50%）" in text and "待目标办确认" not in text
