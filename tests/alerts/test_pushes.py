"""Pushes that fit one screen, through the fake Bot API: a tick that finds 100 alerts for a cadre gives one message
under 600 characters whose buttons page through all of them and acknowledge them all at once."""

from __future__ import annotations

import re
from datetime import date

from sqlmodel import select

from models.alerts import Alert
from models.core import AuditLog
from tests.support.alertrig import add_target, at, county, report, run
from tests.support.itemrig import forge


async def test_a_cadre_with_100_alerts_gets_one_screen_that_pages_through_all(bot) -> None:
    """97 targets of 1,000 each, due 31 December 2026; on 1 July 1,000 × 181/364 = 497.25 are expected. 94 stand
    at 400 (pace 400/497.25 = 0.80: yellow, gap 97.25) and 3 at 300 (0.60: red, gap 197.25), which also become
    3 warning notices: 100 alerts. Red first (the tick raises the red pace alerts first, #1–#3; the notices after
    every other alert, #98–#100), within a light the largest gap first (equal here: the oldest alert first)."""
    c = await county(bot.db, bot.clock)
    for i in range(97):
        a = await add_target(bot.db, c, f"K{i:03d}", planned="1000", deadline=date(2026, 12, 31), title=f"目标{i:03d}")
        await report(bot.db, a, "300" if i >= 94 else "400", at(date(2026, 6, 30)), c["cadre"])
    bot.clock.set(at(date(2026, 7, 1)))
    result = await run(bot.db, at(date(2026, 7, 1)))
    assert len([m for m in result.messages if m.person == c["cadre"].code]) == 100
    await bot.app.bot_data.delivery.settle()
    zhang = bot.fake.user(200)
    (push,) = zhang.replies()
    assert len(push.text) < 600
    assert push.text.splitlines() == [
        "督办提醒：新 100 条", "🔴 红色 6 · 🟡 黄色 94", "进度预警 97 · 预警通知单 3", "最需关注：",
        "🔴 #1 目标094（青山村）差 197.25 个", "🔴 #2 目标095（青山村）差 197.25 个",
        "🔴 #3 目标096（青山村）差 197.25 个",
        "🔴 #98 预警通知单 目标094（青山村）请于 2026-07-06 前答复",
        "🔴 #99 预警通知单 目标095（青山村）请于 2026-07-06 前答复", "另有 95 条，点“全部”查看。"]
    assert [t for t, _ in push.buttons()] == ["全部 100 条 ▸", "✔ 全部确认"]
    (english,) = bot.fake.user(201).replies()
    assert english.text.startswith("Duban: 100 new alerts\n🔴 red 6 · 🟡 yellow 94") and len(english.text) < 600

    # The full list: a new message, 8 a page, from the database; ▶ turns its pages until every alert was seen.
    await zhang.press_button(push, "全部 100 条 ▸")
    page = await zhang.wait_reply()
    seen: list[int] = []
    for number in range(1, 14):
        assert f"（第 {number}/13 页，共 100 条）" in page.text
        seen += [int(x) for x in re.findall(r"^\d+\. \S+ #(\d+) ", page.text, flags=re.M)]
        labels = [t for t, _ in page.buttons()]
        assert labels.count("详情 #" + str(seen[-1])) == 1 and "✔ 全部确认" in labels
        if number < 13:
            await zhang.press_button(page, "▶")
            page = await zhang.wait_edit(page)
    assert "▶" not in [t for t, _ in page.buttons()]
    assert seen[:7] == [1, 2, 3, 98, 99, 100, 4] and sorted(seen) == list(range(1, 101))

    # One alert acknowledged from the list: the page says who and when, the press is answered.
    await zhang.press_button(page, "✔ 确认 #97")
    assert (await zhang.wait_callback_answer()).get("text") == "已确认 #97。"
    page = await zhang.wait_edit(page)
    assert "✔ 张三 于 07-01 09:00 确认" in page.text and "✔ 确认 #97" not in [t for t, _ in page.buttons()]

    # Acknowledge all on the push: the push shows who and when, its button goes; the press says how many.
    await zhang.press_button(push, "✔ 全部确认")
    assert (await zhang.wait_callback_answer()).get("text") == "已确认 96 条。"  # the notices are answered
    edited = await zhang.wait_edit(push)
    assert edited.text.endswith("✔ 张三 于 2026-07-01 09:00 确认了 96 条")
    assert [t for t, _ in edited.buttons()] == ["全部 100 条 ▸"]
    async with bot.db.uow() as uow:
        alerts = (await uow.session.exec(select(Alert).where(Alert.kind == "pace"))).all()
        assert all(a.state == "acknowledged" and a.acknowledged_by_person_id == c["cadre"].id for a in alerts)
        acks = (await uow.session.exec(select(AuditLog).where(AuditLog.action == "alert.acknowledge"))).all()
        assert len(alerts) == len(acks) == 97
    li = bot.fake.user(201)
    await li.press_button(english, "✔ Acknowledge all")
    assert (await li.wait_callback_answer()).get("text") == "All of these were acknowledged already."

    # The leader got the three reds at once, grouped by unit, and a push of someone else is not theirs to list.
    liu = bot.fake.user(400)
    (lead,) = liu.replies()
    assert lead.text.splitlines()[:5] == ["督办提醒：新 3 条，涉及 1 个单位", "🔴 红色 3", "进度预警 3",
                                          "按单位（各列最严重的一条）：", "🔴 青山村（3 条）：#1 目标094：差 197.25 个"]
    await forge(bot, 400, "别人的推送", "看看", next(d for _, d in push.buttons() if d.startswith("al:ls:")))  # 张三's
    await liu.press_button(await liu.wait_reply(lambda m: m.text == "别人的推送"), "看看")
    assert (await liu.wait_reply()).text == "找不到这条推送，或它不是发给您的。"
