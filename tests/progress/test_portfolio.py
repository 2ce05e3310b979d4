"""/portfolio for a leader (linked items and the group line, with pace and unresolved alerts) in both
languages, and the weekly digest: Monday from 08:00, once per ISO week, through the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import select

from models.alerts import Alert, AlertDelivery
from models.enums import Role
from models.people import Person
from services.progress import portfolio
from tests.support.factories import add_person
from tests.support.results_rig import ADMIN, CADRE_ZH, LEADER, TZ, outbox_to, seed


async def said(user, text: str):
    return await user.wait_reply(lambda m: text in (m.text or ""))


async def _alert(rig, assignment_id: int, state: str = "open") -> None:
    async with rig.db.uow() as uow:
        uow.session.add(Alert(key=f"pace:{assignment_id}:{state}", kind="pace", level="red", period="2027-03-22",
                              assignment_id=assignment_id, created_at=rig.clock.now(), state=state,
                              stage_at=rig.clock.now()))
        await uow.commit()


async def test_a_leader_sees_linked_items_and_the_group_line_with_pace_and_alerts(bot) -> None:
    county = await seed(bot)
    await _alert(bot, county.assignments[("TB", "T3")].id)
    await _alert(bot, county.assignments[("TB", "T2")].id, state="resolved")  # not counted
    leader = bot.fake.user(LEADER, "王")
    await leader.send_text("/portfolio")
    text = (await said(leader, "联系点")).text
    assert "<b>王县长的联系点和分管工作</b>（截至2027-03-22）" in text
    assert "📌 重点项目：重点项目完成投资（TB）" in text
    tb = text[text.index("📌"):text.index("🏛")]
    assert tb.index("河口镇") < tb.index("城关镇")  # most urgent first
    assert "  🔴 河口镇：20 万元/100 万元，20%，严重滞后，⚠️1条预警未解除\n" in tb
    assert tb.count("⚠️") == 1
    assert "🏛 <b>招商引资工作领导小组</b>（G1）" in text
    assert "1个目标、3项任务：已完成1" in text and "未解除预警0条" in text


async def test_portfolio_in_english_and_refused_to_others(bot) -> None:
    await seed(bot)
    leader = bot.fake.user(LEADER, "Wang", language_code="en")
    await leader.send_text("/portfolio")
    text = (await said(leader, "Linked items")).text
    assert "📌 Key project: 重点项目完成投资（TB）" in text and "far behind" in text
    assert "targets: 1; assignments: 3 (1 done" in text
    cadre = bot.fake.user(CADRE_ZH, "张三")
    await cadre.send_text("/portfolio")
    await said(cadre, "/portfolio 只对县领导开放")


async def test_an_admin_sees_the_county_view_of_the_economic_focus(bot) -> None:
    """Issue #15 §4. The rig as of 2027-03-22: TA (招商引资, 万元) 1100 + 700 + 200 of 3 × 1000; TB (项目落实,
    王县长's key project) 90 + 60 + 20 of 3 × 100, worst pace red (T3: 20 %); TV (其他) 3 of 10.
      investment 2,000 / 3,000 = 66.7 %, 1 of 3 done (T1); project delivery 170 / 300 = 56.7 %; other 3 / 10 = 30.0 %.
    """
    await seed(bot)
    admin = bot.fake.user(ADMIN, "赵")
    await admin.send_text("/portfolio")
    text = (await said(admin, "经济工作重点")).text
    assert "<b>2027年度经济工作重点 · 全县</b>（截至 2027-03-22）" in text
    assert "项目落实：170 万元 / 300 万元（56.7%），1个目标、3项任务，已完成0项" in text
    assert "招商引资：2,000 万元 / 3,000 万元（66.7%），1个目标、3项任务，已完成1项" in text
    assert "其他：3 万元 / 10 万元（30.0%）" in text
    assert "招商引资到位资金（TA）：2,000 万元 / 3,000 万元（66.7%）" in text
    assert "重点项目完成投资（TB，联系领导：王县长）：170 万元 / 300 万元（56.7%），3个单位，进度：严重滞后" in text


async def test_the_weekly_digest_goes_on_monday_morning_once_a_week(rig) -> None:
    await seed(rig)
    idle = await add_person(rig.db, rig.clock, name="闲领导", roles=(Role.LEADER,), telegram_user_id=401)
    monday = datetime(2027, 3, 22, 8, 0, tzinfo=TZ)
    assert monday.weekday() == 0
    run = portfolio.weekly_digest
    assert await run(monday - timedelta(minutes=1), uow=rig.db.uow(), clock=rig.clock) == 0  # 07:59
    assert await run(monday - timedelta(days=1), uow=rig.db.uow(), clock=rig.clock) == 0  # Sunday
    assert await run(monday + timedelta(days=1), uow=rig.db.uow(), clock=rig.clock) == 0  # Tuesday
    assert await run(monday, uow=rig.db.uow(), clock=rig.clock) == 1
    assert await run(monday + timedelta(hours=3), uow=rig.db.uow(), clock=rig.clock) == 0  # again that week
    (digest,) = await outbox_to(rig, LEADER, portfolio.DIGEST_KIND)
    assert digest.dedup_key.endswith(":2027-W12:1") and "每周工作提示" in digest.text
    assert "重点项目完成投资（河口镇）完成 20%" in digest.text and await outbox_to(rig, idle.telegram_user_id) == []
    assert len(digest.text) <= 600 and digest.reply_markup == {"inline_keyboard": [[
        {"text": "查看全部 ▸", "callback_data": "pf:pg"}]]}  # no open alert: nothing to acknowledge
    assert await run(monday + timedelta(days=7), uow=rig.db.uow(), clock=rig.clock) == 1
    assert [m.dedup_key.split(":")[2] for m in await outbox_to(rig, LEADER)] == ["2027-W12", "2027-W13"]


async def test_the_digest_reaches_the_leader_in_the_running_bot(bot) -> None:
    """One screen: counts, open alerts, the worst lines; "See all" opens the whole portfolio, paged from the
    database; "Acknowledge all" acknowledges the leader's open alert and the digest says who and when."""
    county = await seed(bot)
    leader = bot.fake.user(LEADER, "Wang", language_code="en")
    async with bot.db.uow() as uow:  # the leader chose English, and was told of a red alert on 河口镇
        person = (await uow.session.exec(select(Person).where(Person.telegram_user_id == LEADER))).one()
        person.language = "en"
        uow.session.add(person)
        alert = Alert(key="pace:x", kind="pace", level="red", period="2027-03-22", stage=1,
                      assignment_id=county.assignments[("TB", "T3")].id, created_at=bot.clock.now(),
                      stage_at=bot.clock.now())
        uow.session.add(alert)
        await uow.session.flush()
        uow.session.add(AlertDelivery(alert_id=alert.id, person_id=person.id, stage=1, created_at=bot.clock.now()))
        await uow.commit()
    assert await portfolio.weekly_digest(bot.clock.now(), uow=bot.db.uow(), clock=bot.clock) == 1
    bot.app.bot_data.delivery.wake()
    digest = await said(leader, "Weekly digest")
    assert len(digest.text) <= 600 and "1 alerts not acknowledged" in digest.text
    assert [t for t, _ in digest.buttons()] == ["See all ▸", "✔ Acknowledge all"]
    await leader.press_button(digest, "See all ▸")
    full = await leader.wait_reply()
    assert "Key project" in full.text and "far behind, 0 overdue" in full.text and "Nothing behind." in full.text
    await leader.press_button(digest, "✔ Acknowledge all")
    assert (await leader.wait_callback_answer()).get("text") == "1 acknowledged."
    edited = await leader.wait_edit(digest)
    assert edited.text.endswith("✔ 1 acknowledged by 王县长 at 2027-03-22 09:00")
    assert [t for t, _ in edited.buttons()] == ["See all ▸"]
    async with bot.db.uow() as uow:
        assert (await uow.session.get(Alert, alert.id)).state == "acknowledged"


async def test_the_scheduler_tick_of_the_command_line_sends_the_digest(rig, cli) -> None:
    await seed(rig)
    sunday = await cli.tick_at(rig.clock, "2027-03-21T09:00")
    assert sunday.code == 0 and await outbox_to(rig, LEADER, portfolio.DIGEST_KIND) == []
    monday = await cli.tick_at(rig.clock, "2027-03-22T09:00")
    assert monday.code == 0 and "已为 1 位领导生成每周简报" in monday.out
    assert len(await outbox_to(rig, LEADER, portfolio.DIGEST_KIND)) == 1
    again = await cli.tick_at(rig.clock, "2027-03-22T10:00")
    assert "每周简报" not in again.out and len(await outbox_to(rig, LEADER, portfolio.DIGEST_KIND)) == 1
