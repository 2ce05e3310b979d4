"""The public satisfaction survey: anyone answers through a deep link without registering (Chinese and English),
once per account, unit and year; an optional comment; strangers get nothing else; the QR code and links CLI."""

from __future__ import annotations

import re
from datetime import timedelta

from openpyxl import load_workbook

from models.assessment import SurveyLink, SurveyResponse
from models.core import AuditLog, KeyValue
from services.assessment import assess, survey, survey_keys
from tests.support.botrig import SURVEY_SECRET, handled
from tests.support.factories import add_person, add_unit
from tests.support.peer_seed import rows, set_status

STRANGER, STRANGER_EN = 900, 901


async def a_link(rig, code: str = "V1", name: str = "青山村") -> str:
    await add_unit(rig.db, rig.clock, code=code, name=name)
    return (await survey.ensure_link(2027, code, uow=rig.db.uow(), clock=rig.clock)).token


async def responses(rig) -> list[SurveyResponse]:
    return await rows(rig, SurveyResponse)


async def test_a_stranger_answers_in_chinese_with_a_comment_and_only_once(bot) -> None:
    token = await a_link(bot)
    assert len(f"s_{token}") <= 64
    user = bot.fake.user(STRANGER, language_code="zh-hans")
    await user.send_text(f"/start s_{token}")
    question = await user.wait_reply()
    assert "<b>青山村 · 2027年度群众满意度测评</b>" in question.text
    assert [t for t, _ in question.buttons()] == ["满意", "基本满意", "不满意"]
    await user.send_text(f"/start s_{token}")  # a second question, opened before answering
    second = await user.wait_reply()
    press = await user.press_button(question, "基本满意")
    thanks = await user.wait_reply()
    assert "您对青山村的评价已记录" in thanks.text and [t for t, _ in thanks.buttons()] == ["跳过"]
    assert "您的评价：基本满意" in (await user.wait_edit(question)).text and question.buttons() == []
    await bot.fake.redeliver(press["update_id"])  # a redelivered press records nothing more
    await bot.fake.wait_confirmed(press["update_id"])
    await user.send_text("村道修好了，   希望路灯也修一下")
    assert "留言已收到" in (await user.wait_reply()).text
    (answer,) = await responses(bot)
    assert (answer.year, answer.answer, answer.comment) == (2027, "basic", "村道修好了， 希望路灯也修一下")
    async with bot.db.uow() as uow:  # a keyed hash of year, unit and account, not the id
        secret = bytes.fromhex((await uow.session.get(KeyValue, survey_keys.DB_SECRET)).value)
    key = survey_keys.respondent_key(secret, SURVEY_SECRET, 2027, answer.unit_id, STRANGER)
    assert answer.respondent == key
    assert answer.respondent != survey_keys.respondent_key(secret, SURVEY_SECRET, 2027, answer.unit_id + 1, STRANGER)
    (entry,) = [a for a in await rows(bot, AuditLog) if a.action == "survey.answer"]  # audited, anonymously
    assert (entry.actor, entry.entity_key, entry.after) == ("public", "2027:V1", {"response": answer.id,
                                                                                 "answer": "basic"})

    # The second try, from the question opened earlier or a new /start, is told so politely.
    await user.press_button(second, "满意")
    assert "您已于 2027-03-22 对青山村（2027年度）作过评价" in (await user.wait_reply()).text
    await user.send_text(f"/start s_{token}")
    assert "每人每年只能评价一次" in (await user.wait_reply()).text
    assert len(await responses(bot)) == 1
    # The comment is over: the next message is a stranger's message again.
    await user.send_text("还有一件事")
    assert "仅供已登记人员使用" in (await user.wait_reply()).text
    assert (await responses(bot))[0].comment == "村道修好了， 希望路灯也修一下"


async def test_a_stranger_answers_in_english_skips_the_comment_and_gets_nothing_else(bot) -> None:
    token = await a_link(bot)
    user = bot.fake.user(STRANGER_EN, first_name="Ann", language_code="en-US")
    await user.send_text(f"/start s_{token}")
    question = await user.wait_reply()
    assert "<b>青山村 · 2027 satisfaction survey</b>" in question.text
    await user.press_button(question, "Not satisfied")
    thanks = await user.wait_reply()
    assert "Your answer for 青山村 is recorded" in thanks.text
    # While the comment is awaited, commands other features own are still refused to a stranger (told once:
    # a stranger is answered at most once every few minutes).
    for command in ("/report", "/assess", "/mytargets"):
        await user.send_text(command)
    assert "for registered staff only" in (await user.wait_reply()).text
    await user.press_button(thanks, "Skip")
    assert "thank you for taking part" in (await user.wait_reply()).text
    await handled(bot, lambda: user.send_text("one more thing"))  # neither a comment nor answered
    assert len(user.replies()) == 4
    (answer,) = await responses(bot)
    assert (answer.answer, answer.comment) == ("unsatisfied", "")


async def test_registered_people_answer_like_anyone_and_accounts_are_counted_apart(bot) -> None:
    token = await a_link(bot)
    await add_person(bot.db, bot.clock, name="张三", telegram_user_id=200, language="en")
    for uid, button in ((200, "Satisfied"), (STRANGER, "满意")):
        user = bot.fake.user(uid)
        await user.send_text(f"/start s_{token}")
        await user.press_button(await user.wait_reply(), button)
        await user.wait_reply()
    found = await responses(bot)
    assert [r.answer for r in found] == ["satisfied", "satisfied"] and found[0].respondent != found[1].respondent
    async with bot.db.uow() as uow:
        secret = await uow.session.get(KeyValue, survey_keys.DB_SECRET)
    assert secret is not None and len(secret.value) == 64  # made once per county, kept


async def test_a_late_comment_is_not_recorded(bot) -> None:
    token = await a_link(bot)
    user = bot.fake.user(STRANGER)
    await user.send_text(f"/start s_{token}")
    await user.press_button(await user.wait_reply(), "满意")
    await user.wait_reply()
    bot.clock.advance(survey.COMMENT_WINDOW + timedelta(minutes=1))
    await user.send_text("过了很久才写的留言")
    assert "留言时间已过" in (await user.wait_reply()).text
    assert (await responses(bot))[0].comment == ""


async def test_bad_links_and_a_published_round_are_answered_politely(bot) -> None:
    token = await a_link(bot)
    user = bot.fake.user(STRANGER)
    for payload in ("s_doesnotexist123", "s_!!"):
        await user.send_text(f"/start {payload}")
        assert "这个测评链接无效或已失效" in (await user.wait_reply()).text
    await user.send_text(f"/start s_{token}")
    question = await user.wait_reply()
    await assess.open_round(2027, actor="cli", uow=bot.db.uow(), clock=bot.clock)
    await set_status(bot, 2027, "published")
    await user.press_button(question, "满意")
    assert "青山村2027年度群众满意度测评已结束" in (await user.wait_reply()).text
    await user.send_text(f"/start s_{token}")
    assert "已结束" in (await user.wait_reply()).text
    assert await responses(bot) == []


async def test_cli_survey_qr_and_links(cli, rig, tmp_path) -> None:
    await add_unit(rig.db, rig.clock, code="V1", name="青山村")
    await add_unit(rig.db, rig.clock, code="V2", name="绿水村")
    out = tmp_path / "v1.png"
    done = await cli("survey", "qr", "v1", "--year", "2027", "--out", str(out))
    assert done.code == 0, done.err
    (link,) = await rows(rig, SurveyLink)
    url = f"https://t.me/{rig.fake.bot_username}?start=s_{link.token}"
    assert done.out.splitlines()[0] == url and "已写入二维码" in done.out
    assert out.read_bytes().startswith(b"\x89PNG")
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", link.token)  # random (the unit code is not part of it)
    again = await cli("survey", "qr", "V1", "--year", "2027", "--out", str(tmp_path / "again.svg"))
    assert again.code == 0 and again.out.splitlines()[0] == url  # the same link, kept
    assert (await cli("survey", "qr", "NOPE", "--out", str(out))).code == 1
    assert (await cli("survey", "qr", "V1", "--out", str(tmp_path / "x.jpg"))).code == 1

    book = tmp_path / "links.xlsx"
    listed = await cli("survey", "links", "--year", "2027", "--out", str(book), DUBAN_LOCALE="en")
    assert listed.code == 0 and "Survey links of 2 units (2027)" in listed.out
    sheet = load_workbook(book).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["Unit code", "Unit", "Class", "Year", "Survey link"]
    assert values[1] == ["V1", "青山村", "village", 2027, url] and values[2][0] == "V2"
