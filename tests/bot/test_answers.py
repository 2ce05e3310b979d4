"""Every button press is answered, and small inputs no longer crash: a press nothing takes (an old message's
button, forged data, an id too big for the database) gets "this button no longer applies"; /mute with a
non-ASCII digit, a button pressed twice, /cancel outside a dialogue, and command-line runs on a database never
migrated or with nobody joined each get one clear answer."""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from decimal import Decimal

from models.plan import Assignment, Target
from tests.support.alertrig import add_target, at, county
from tests.support.factories import add_person, add_unit

STALE = "此按钮已失效"


async def _cadre_with_pages(bot):
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
    return bot.fake.user(210)


async def test_a_press_nothing_takes_is_answered(bot) -> None:
    """Three presses on one /mytargets message whose buttons were forged: data that is not ours, a step of a
    dialogue that is not in progress, an alert id beyond 2⁶³. Each is answered with the stale-button line and
    nothing else is said."""
    cadre = await _cadre_with_pages(bot)
    await cadre.send_text("/mytargets")
    page = await cadre.wait_reply()
    for data in ("zz:1", "rep:skip", "al:ack:99999999999999999999"):
        page.message["reply_markup"] = {"inline_keyboard": [[{"text": "x", "callback_data": data}]]}
        await cadre.press(page, data)
        answer = await cadre.wait_callback_answer()
        assert STALE in answer.get("text", ""), data
    assert [m.text for m in cadre.replies()] == [page.text]  # no "internal error", no other reply


async def test_a_button_pressed_twice_is_done_once_and_logs_no_traceback(bot, caplog) -> None:
    """Both presses of ▶ arrive before the first is handled: the second edit would change nothing. It is
    treated as done: no error line, no "internal error" reply."""
    cadre = await _cadre_with_pages(bot)
    await cadre.send_text("/mytargets")
    first = await cadre.wait_reply()
    data = next(d for t, d in first.buttons() if "下一页" in t)
    with caplog.at_level(logging.INFO):
        await cadre.press(first, data)
        await cadre.press(first, data)
        await cadre.wait_callback_answer()
        await cadre.send_text("/help")  # handled after both presses (one chat, in order)
        assert "/mytargets" in (await cadre.wait_reply(lambda m: "/mytargets" in (m.text or ""))).text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [m for m in cadre.replies() if "内部错误" in (m.text or "")]


async def test_mute_with_a_superscript_digit_gets_the_usage_line(bot) -> None:
    await add_person(bot.db, bot.clock, name="王县长", telegram_user_id=400, roles=())
    leader = bot.fake.user(400)
    await leader.send_text("/mute T1 ²")
    text = (await leader.wait_reply()).text
    assert "/mute" in text and "内部错误" not in text


async def test_cancel_outside_a_dialogue_says_there_is_nothing_to_cancel(bot) -> None:
    await add_person(bot.db, bot.clock, name="张三", telegram_user_id=200)
    user = bot.fake.user(200)
    await user.send_text("/cancel")
    assert "没有进行中的操作" in (await user.wait_reply()).text


async def test_a_command_on_a_database_never_migrated_says_so_in_one_line(cli, tmp_path) -> None:
    fresh = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    result = await cli("plan", "export", "--out", str(tmp_path / "plan.xlsx"), DUBAN_DATABASE_URL=fresh)
    assert result.code == 2
    assert result.err.strip() == "duban: 数据库尚未建立或不是最新版本，请先运行 duban migrate。"
    assert (await cli("migrate", DUBAN_DATABASE_URL=fresh)).code == 0
    assert (await cli("plan", "export", "--out", str(tmp_path / "plan.xlsx"), DUBAN_DATABASE_URL=fresh)).code == 0


async def test_a_dry_run_tick_with_nobody_joined_lists_the_alerts_as_unheard(cli, rig) -> None:
    """The county's people exist but none joined: the red alert is printed with no chat and flagged, and
    stderr says why nobody hears of it."""
    c = await county(rig.db, rig.clock, joined=False)
    await add_target(rig.db, c, "Y", planned="1000", deadline=date(2026, 12, 31), title="生猪出栏")
    dry = await cli("jobs", "tick", "--at", at(date(2026, 7, 1)).isoformat(), "--dry-run")
    assert dry.code == 0, dry.err
    lines = [json.loads(line) for line in dry.out.strip().splitlines()]
    assert lines and all(line["chat_id"] is None and line["not_joined"] is True for line in lines)
    # Behind pace (with its warning notice), and never reported.
    assert {line["kind"] for line in lines} == {"pace", "warning", "missing_report"}
    assert "无人可收" in dry.err
