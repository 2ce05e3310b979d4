"""Alerts in chat: Acknowledge edits the message and stops the ladder, Details, Ask, /alerts, /mute."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from models.alerts import Alert, Mute
from models.core import AuditLog
from tests.support.alertrig import add_target, at, county, report, run


async def _alerted(bot):
    c = await county(bot.db, bot.clock)
    a = await add_target(bot.db, c, "R", planned="1000", deadline=date(2026, 12, 31), title="生猪出栏")
    await report(bot.db, a, "300", at(date(2026, 6, 30)), c["cadre"])
    bot.clock.set(at(date(2026, 7, 1)))
    await run(bot.db, at(date(2026, 7, 1)))  # red: the cadres and the leaders at once
    await bot.app.bot_data.delivery.settle()
    return c, a


async def test_acknowledge_edits_the_message_and_stops_the_escalation(bot) -> None:
    c, _ = await _alerted(bot)
    leader = bot.fake.user(400)
    (message,) = leader.replies()
    assert "生猪出栏" in message.text and "红色预警" in message.text
    assert [t for t, _ in message.buttons()] == ["✔ 确认 #1", "详情 #1", "催报 #1", "督办 #1"]
    await leader.press_button(message, "✔ 确认 #1")
    assert (await leader.wait_callback_answer()).get("text") == "已确认 #1。"  # the press is answered
    edited = await leader.wait_edit(message)
    assert "#1 已由 刘县长 于 2026-07-01 09:00 确认" in edited.text and edited.buttons() == []
    async with bot.db.uow() as uow:
        alert = (await uow.session.exec(select(Alert).where(Alert.kind == "pace"))).one()
        assert alert.state == "acknowledged" and alert.acknowledged_by_person_id == c["leader"].id
        assert (await uow.session.exec(select(AuditLog).where(AuditLog.action == "alert.acknowledge"))).one()
    assert (await run(bot.db, at(date(2026, 7, 2)))).messages == []  # the office is not bothered
    cadre = bot.fake.user(200)  # the pace warning and the warning notice (#2) the unit must answer
    (push,) = cadre.replies()
    assert push.text.startswith("督办提醒：新 2 条\n🔴 红色 2\n") and "#2 预警通知单 生猪出栏" in push.text
    await cadre.press_button(push, "全部 2 条 ▸")
    listed = await cadre.wait_reply()
    assert "✔ 刘县长 于 07-01 09:00 确认" in listed.text
    assert [t for t, _ in listed.buttons()] == ["详情 #1", "📝 答复 #2", "详情 #2"]


async def test_details_and_ask_for_a_report(bot) -> None:
    await _alerted(bot)
    leader = bot.fake.user(400)
    message = leader.replies()[0]
    await leader.press_button(message, "详情 #1")
    details = (await leader.wait_reply()).text
    assert "生猪出栏" in details and "完成 300 个" in details
    await leader.press_button(message, "催报 #1")
    assert "已请 2 名干部立即报送" in (await leader.wait_reply()).text
    await bot.app.bot_data.delivery.settle()
    assert "刘县长 请您立即报送" in bot.fake.user(200).replies()[-1].text
    assert "asks you to report on" in bot.fake.user(201).replies()[-1].text
    cadre = bot.fake.user(200)
    await cadre.press_button(cadre.replies()[0], "全部 2 条 ▸")
    # Cadres have no "ask" button.
    assert [t for t, _ in (await cadre.wait_reply()).buttons()] == ["✔ 确认 #1", "详情 #1", "📝 答复 #2", "详情 #2",
                                                                    "✔ 全部确认"]


async def test_alerts_list_and_mute(bot) -> None:
    await _alerted(bot)
    leader = bot.fake.user(400)
    await leader.send_text("/alerts")
    listing = (await leader.wait_reply()).text
    assert "#1 🔴 生猪出栏（青山村）进度预警，待确认" in listing
    await leader.send_text("/mute R 7")
    assert "已暂停 R 的提醒至 2026-07-08" in (await leader.wait_reply()).text
    await leader.send_text("/mute R many")
    assert "用法" in (await leader.wait_reply()).text
    cadre = bot.fake.user(200)
    await cadre.send_text("/mute R 7")
    assert "只有领导" in (await cadre.wait_reply()).text
    async with bot.db.uow() as uow:
        assert len((await uow.session.exec(select(Mute))).all()) == 1


async def test_the_repeating_job_ticks_in_the_running_bot(rig) -> None:
    from tests.support.botrig import running_bot

    c = await county(rig.db, rig.clock)
    a = await add_target(rig.db, c, "R", planned="1000", deadline=date(2026, 12, 31), title="生猪出栏")
    await report(rig.db, a, "300", at(date(2026, 6, 30)), c["cadre"])
    rig.clock.set(at(date(2026, 7, 1)))
    async with running_bot(rig, tick_interval=0.2):  # the JobQueue's repeating tick, on the bot's clock
        pushed = await rig.fake.user(200).wait_reply()
    assert "生猪出栏" in pushed.text and "🔴 红色 2" in pushed.text
