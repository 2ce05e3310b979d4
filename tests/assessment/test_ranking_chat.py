"""/ranking in the chat: the office and leaders get the table and the chart (a photo), by class or from a
menu of classes, in their language; cadres are refused; before publication only the office sees a preview."""

from __future__ import annotations

import io

from PIL import Image

from services.assessment import rounds
from tests.support.results_rig import ADMIN, CADRE_ZH, LEADER, seed


async def said(user, text: str):
    return await user.wait_reply(lambda m: text in (m.text or ""))


def _photo(bot, message) -> Image.Image:
    assert message.method == "sendPhoto"
    return Image.open(io.BytesIO(bot.fake.files[message.file_id].data))


async def test_the_office_picks_a_class_from_the_menu_and_gets_the_table_and_the_chart(bot) -> None:
    await seed(bot)
    await rounds.publish(2027, 7, actor="cli", uow=bot.db.uow(), clock=bot.clock)
    admin = bot.fake.user(ADMIN, "赵")
    await admin.send_text("/ranking")
    menu = await said(admin, "请选择类别")
    assert [text for text, _ in menu.buttons()] == ["乡镇（3）", "村（1）"]
    await admin.press_button(menu, "乡镇（3）")
    table = await said(admin, "2027年度考核排名 · 乡镇")
    lines = table.text.split("\n")
    assert lines[1] == "（公示中）"
    assert lines[2].startswith("1. 城关镇（T1）100.00") and lines[4].startswith("3. 河口镇（T3）")
    assert "🔻" in lines[4] and "🔻" not in lines[2]
    photo = await admin.wait_reply(lambda m: m.method == "sendPhoto")
    assert "2027年度考核排名 · 乡镇（3个单位）" in photo.text
    assert _photo(bot, photo).width > 600


async def test_a_leader_asks_for_a_class_in_english(bot) -> None:
    await seed(bot)
    await rounds.publish(2027, 7, actor="cli", uow=bot.db.uow(), clock=bot.clock)
    leader = bot.fake.user(LEADER, "Wang", language_code="en")
    await leader.send_text("/ranking township")
    table = await said(leader, "2027 ranking · 乡镇")
    assert "(Published for public notice)" in table.text and "🔻 bottom of the class" in table.text
    photo = await leader.wait_reply(lambda m: m.method == "sendPhoto")
    assert photo.text == "2027 ranking · 乡镇 (3 units)"
    await leader.send_text("/ranking enterprises")
    assert "There is no class \"enterprises\". Classes: 乡镇, 村" in (await said(leader, "no class")).text


async def test_cadres_are_refused_and_an_open_round_is_only_the_offices_preview(bot) -> None:
    await seed(bot)
    cadre = bot.fake.user(CADRE_ZH, "张三")
    await cadre.send_text("/ranking")
    await said(cadre, "考核排名只对目标办和县领导开放")
    leader = bot.fake.user(LEADER, "王")
    await leader.send_text("/ranking 乡镇")
    await said(leader, "2027年度考核结果尚未公示")
    admin = bot.fake.user(ADMIN, "赵")
    await admin.send_text("/ranking 村")
    table = await said(admin, "2027年度考核排名 · 村")
    assert "预览" in table.text and "1. 红星村（V1）" in table.text
    await admin.wait_reply(lambda m: m.method == "sendPhoto")
