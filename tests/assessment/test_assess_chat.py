"""/assess through the fake Bot API: scoring peers (Chinese) and inspected units (English), changing a score,
bad input, Edit and /cancel, a restart in the middle, a redelivered Confirm, no self-scoring, a published round."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import col, update

from bot.app.persistence import DbPersistence
from models.assessment import PeerScore
from models.people import Person
from services.assessment import assess
from services.core.conversations import ConvRef
from services.core.errors import DomainError
from tests.support.botrig import running_bot
from tests.support.factories import add_person
from tests.support.peer_seed import audits, rows, scores, seed, set_status, unit_codes


async def opened(rig) -> dict:
    p = await seed(rig)
    await assess.open_round(2027, seed=7, actor="cli", uow=rig.db.uow(), clock=rig.clock)
    if rig.app is not None:  # the invitations are out before anyone acts
        await rig.app.bot_data.delivery.settle()
    return p


async def invited(bot, user, needle: str):
    await bot.app.bot_data.delivery.settle()
    return await user.wait_reply(lambda m: m.text is not None and needle in m.text)


async def to_summary(user, listing, button: str, score: str, comment: str | None):
    """Pick the unit, type the score and the comment (None: Skip); returns the summary."""
    await user.press(listing, button)
    await user.wait_reply()
    await user.send_text(score)
    asked = await user.wait_reply()
    if comment is None:
        await user.press(asked, "as:skip")
    else:
        await user.send_text(comment)
    return await user.wait_reply()


async def test_an_assessor_scores_a_peer_unit_in_chinese_and_changes_it(bot) -> None:
    p = await opened(bot)
    zhang = bot.fake.user(210)
    invite = await invited(bot, zhang, "2027年度考核评分已开始")
    await zhang.press_button(invite, "开始评分")
    listing = await zhang.wait_reply()
    assert "交叉考核：已评 0/5" in listing.text and "点击单位开始评分" in listing.text
    assert len(listing.buttons()) == 5 and all(t.startswith("⬜ ") for t, _ in listing.buttons())
    assert not any("青山村" in t for t, _ in listing.buttons())  # V1, his own unit
    first_text, first = listing.buttons()[0]
    await zhang.press(listing, first)
    ask = await zhang.wait_reply()
    assert "<b>交叉考核 · " in ask.text and "请输入分数" in ask.text
    for bad in ("101", "85.55", "很好"):
        await zhang.send_text(bad)
        assert f"“{bad}”不是有效分数" in (await zhang.wait_reply()).text
    await zhang.send_text("８７.５")  # full-width digits
    assert "分数：87.5。" in (await zhang.wait_reply()).text
    await zhang.send_text("工作扎实，  进度快")
    summary = await zhang.wait_reply()
    assert "请确认评分" in summary.text and "分数：87.5" in summary.text and "评语：工作扎实， 进度快" in summary.text
    press = await zhang.press_button(summary, "确认")
    saved = await zhang.wait_reply()
    assert f"已保存：{first_text.removeprefix('⬜ ')} 87.5 分" in saved.text and "还有 4 个单位待评分" in saved.text

    # A redelivered Confirm writes nothing more.
    await bot.fake.redeliver(press["update_id"])
    await bot.fake.wait_confirmed(press["update_id"])
    (row,) = [r for r in await scores(bot, p["zhang"]) if r.score is not None]
    assert (row.score, row.comment) == (Decimal("87.5"), "工作扎实， 进度快") and row.submitted_at is not None
    assert len(await audits(bot, "peer_score.submit")) == 1

    # Back to the list: the scored unit is last, with its score; changing it is audited with before and after.
    await zhang.press_button(saved, "返回评分名单")
    listing = await zhang.wait_reply()
    assert "已评 1/5" in listing.text and listing.buttons()[-1][0].endswith("· 87.5分")
    summary = await to_summary(zhang, listing, listing.buttons()[-1][1], "九十", None)
    assert "分数：90" in summary.text and "评语：（无）" in summary.text
    await zhang.press_button(summary, "确认")
    assert "已修改：" in (await zhang.wait_reply()).text
    (change,) = await audits(bot, "peer_score.change")
    assert change.before == {"score": "87.5", "comment": "工作扎实， 进度快"}
    assert change.after == {"score": "90", "comment": ""}


async def test_an_inspector_scores_in_english_seeing_the_years_visits(bot) -> None:
    p = await opened(bot)
    wu = bot.fake.user(502, language_code="en")
    await wu.send_text("/assess")
    listing = await wu.wait_reply()
    assert "Inspection assessment: 0/1 scored" in listing.text
    await wu.press(listing, listing.buttons()[0][1])
    ask = await wu.wait_reply()
    assert "<b>Inspection assessment · 青山村</b> (V1, 2027)" in ask.text
    assert "Inspections this year (2):" in ask.text
    assert "· 2027-03-01 good: All fixed" in ask.text and "· 2027-02-01 acceptable: Roads patched" in ask.text
    await wu.send_text("about 80")
    assert "is not a valid score" in (await wu.wait_reply()).text
    await wu.send_text("78")
    await wu.wait_reply()
    await wu.send_text("Solid work")
    summary = await wu.wait_reply()
    assert "Score: 78" in summary.text and "Comment: Solid work" in summary.text
    await wu.press_button(summary, "Edit")
    assert "Please type the score" in (await wu.wait_reply()).text
    await wu.send_text("80")
    asked = await wu.wait_reply()
    await wu.press_button(asked, "Skip")
    summary = await wu.wait_reply()
    assert "Score: 80" in summary.text and "Comment: (none)" in summary.text
    await wu.press_button(summary, "Confirm")
    done = await wu.wait_reply()
    assert "Saved: 青山村, 80 points." in done.text and "All your units are scored" in done.text
    (row,) = await scores(bot, p["wu"], "inspection")
    assert row.score == Decimal(80) and row.comment == ""

    # /cancel in the middle changes nothing.
    await wu.send_text("/assess")
    listing = await wu.wait_reply()
    await wu.press(listing, listing.buttons()[0][1])
    assert "Your score: 80" in (await wu.wait_reply()).text
    await wu.send_text("10")
    await wu.wait_reply()
    await wu.send_text("/cancel")
    assert "Cancelled; no score changed." in (await wu.wait_reply()).text
    assert (await scores(bot, p["wu"], "inspection"))[0].score == Decimal(80)


async def test_scoring_continues_after_a_restart(rig, monkeypatch) -> None:
    # PTB's own persistence writes never happen (as after a kill -9): only what the steps wrote survives.
    async def lost(self, name, key, new_state) -> None:
        return None

    monkeypatch.setattr(DbPersistence, "update_conversation", lost)
    p = await opened(rig)
    zhang = rig.fake.user(210)
    async with running_bot(rig):
        await rig.app.bot_data.delivery.settle()
        await zhang.send_text("/assess")
        listing = await zhang.wait_reply()
        await zhang.press(listing, listing.buttons()[0][1])
        await zhang.wait_reply()
        await zhang.send_text("66")
        assert "分数：66" in (await zhang.wait_reply()).text
    async with running_bot(rig):
        await zhang.send_text("重启后的评语")
        summary = await zhang.wait_reply()
        assert "分数：66" in summary.text and "重启后的评语" in summary.text
        await zhang.press_button(summary, "确认")
        assert "已保存" in (await zhang.wait_reply()).text
    assert [(r.score, r.comment) for r in await scores(rig, p["zhang"]) if r.score is not None] == [
        (Decimal(66), "重启后的评语")]


async def test_nobody_scores_their_own_unit(bot) -> None:
    p = await opened(bot)
    zhang = bot.fake.user(210)
    drawn = await scores(bot, p["zhang"], "peer")
    assert "V1" not in await unit_codes(bot, drawn)
    await zhang.send_text("/assess")
    listing = await zhang.wait_reply()
    # 张评 moves into a unit he was drawn to score: it leaves his list and cannot be scored.
    target = drawn[0]
    async with bot.db.uow() as uow:
        await uow.session.exec(update(Person).where(col(Person.id) == p["zhang"].id).values(unit_id=target.unit_id))
        await uow.commit()
    await zhang.press(listing, f"as:u:{target.id}")
    assert "不能给本单位打分" in (await zhang.wait_reply()).text
    await zhang.send_text("/assess")
    assert "交叉考核：已评 0/4" in (await zhang.wait_reply()).text
    # Nor can anyone act on another scorer's row, even by forging its number.
    other = (await scores(bot, p["alice"], "peer"))[0]
    conv = ConvRef(key="[210,210]", chat_id=210, user_id=210)
    with pytest.raises(DomainError) as exc:
        await assess.begin(other.id, conv=conv, update_id=None, uow=bot.db.uow(), clock=bot.clock)
    assert exc.value.key == "peer.not_yours"
    assert all(r.score is None for r in await rows(bot, PeerScore))


async def test_after_publication_nothing_changes(bot) -> None:
    p = await opened(bot)
    await add_person(bot.db, bot.clock, name="张三", unit=p["V1"], telegram_user_id=200)
    cadre = bot.fake.user(200)
    await cadre.send_text("/assess")
    assert "没有需要评分的单位" in (await cadre.wait_reply()).text
    zhang = bot.fake.user(210)
    await zhang.send_text("/assess")
    listing = await zhang.wait_reply()
    summary = await to_summary(zhang, listing, listing.buttons()[0][1], "70", None)
    await set_status(bot, 2027, "published")
    await zhang.press_button(summary, "确认")
    assert "2027年度考核评分已结束" in (await zhang.wait_reply()).text
    assert all(r.score is None for r in await rows(bot, PeerScore))
    await zhang.send_text("/assess")
    assert "2027年度考核评分已结束" in (await zhang.wait_reply()).text


async def test_something_else_at_a_step_is_answered_with_what_the_step_needs(bot) -> None:
    await opened(bot)
    zhang = bot.fake.user(210)
    await zhang.send_text("/assess")
    listing = await zhang.wait_reply()
    await zhang.press(listing, listing.buttons()[0][1])
    await zhang.wait_reply()
    await zhang.send_photo(b"\x89PNG\r\n\x1a\n" + b"not a score" * 20)
    said, again = await zhang.wait_replies(2)
    assert "现在需要的不是这个" in said.text and "请输入分数" in again.text
    await zhang.send_text("88")
    assert "分数：88" in (await zhang.wait_reply()).text
