"""Joining by invitation link, through the fake Bot API, on every database."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import func, select

from handlers.context import Cooldown
from models.core import AuditLog
from models.enums import Role
from models.people import Invitation, Person, RoleMembership
from services.people import invite
from tests.support.factories import add_person, add_unit


async def _invite(rig, role=Role.CADRE, unit=None, person=None, ttl=timedelta(days=14)) -> str:
    (code,) = await invite.create(role, unit_code=unit, person_code=person, count=1, ttl=ttl,
                                       by_user_id=None, uow=rig.db.uow(), clock=rig.clock)
    return code


async def test_cadre_joins_by_link_and_sees_their_menu(bot) -> None:
    unit = await add_unit(bot.db, bot.clock, code="V001", name="青山村")
    admin = await add_person(bot.db, bot.clock, name="王主任", roles=(Role.ADMIN,), telegram_user_id=900)
    code = await _invite(bot, unit="V001")
    alice = bot.fake.user(501, "Li", "Ming", language_code="zh-hans")
    await alice.send_text(f"/start i_{code}")
    reply = await alice.wait_reply()
    assert "Li Ming" in reply.text and "青山村" in reply.text and "干部" in reply.text
    assert "/help" in reply.text and "/me" in reply.text
    # Telegram's menu for this chat lists the cadre's commands.
    params = await bot.fake.wait_for_request(
        "setMyCommands", lambda p: (p.get("scope") or {}).get("chat_id") == 501)
    assert [c["command"] for c in params["commands"]] == [
        "start", "help", "me", "lang", "mytargets", "report", "history", "adjust", "items", "rectify", "visits",
        "score", "appeal", "cancel"]
    # The admin hears of it through the outbox.
    admin_chat = bot.fake.user(900)
    notice = await admin_chat.wait_reply()
    assert "Li Ming" in notice.text and "青山村" in notice.text
    async with bot.db.uow() as uow:
        person = (await uow.session.exec(select(Person).where(Person.telegram_user_id == 501))).one()
        assert person.unit_id == unit.id and person.language == "zh"
        roles = (await uow.session.exec(select(RoleMembership.role).where(
            RoleMembership.person_id == person.id))).all()
        assert roles == ["cadre"]
        assert (await uow.session.exec(select(AuditLog).where(AuditLog.action == "invitation.redeem"))).one()
    assert admin.id is not None


async def test_imported_person_binds_and_english_user_gets_english(bot) -> None:
    unit = await add_unit(bot.db, bot.clock, code="T01", name="Green Town", kind="township")
    await add_person(bot.db, bot.clock, name="Zhang San", unit=unit, code="P100", roles=(Role.LEADER,))
    code = await _invite(bot, role=Role.LEADER, person="P100")
    user = bot.fake.user(777, "Zhang", language_code="en")
    await user.send_text(f"/start i_{code}")
    reply = await user.wait_reply()
    assert reply.text.startswith("Welcome, Zhang San!") and "leader" in reply.text
    async with bot.db.uow() as uow:
        person = (await uow.session.exec(select(Person).where(Person.code == "P100"))).one()
        assert person.telegram_user_id == 777
        n = (await uow.session.exec(select(func.count()).select_from(RoleMembership))).one()
        assert n == 1  # the workbook's leader role is not duplicated


async def test_used_expired_revoked_and_unknown_codes_are_refused_and_change_nothing(bot) -> None:
    await add_unit(bot.db, bot.clock, code="V002")
    used = await _invite(bot, unit="V002")
    expired = await _invite(bot, unit="V002", ttl=timedelta(hours=1))
    revoked = await _invite(bot, unit="V002")
    await invite.revoke(f"https://t.me/x?start=i_{revoked}", actor="cli", uow=bot.db.uow(), clock=bot.clock)
    first = bot.fake.user(601, "First")
    await first.send_text(f"/start i_{used}")
    await first.wait_reply()
    bot.clock.advance(timedelta(hours=2))
    other = bot.fake.user(602, "Other")
    for payload, expected in [
        (f"i_{used}", "已被使用或已作废"),
        (f"i_{expired}", "已过期"),
        (f"i_{revoked}", "已被使用或已作废"),
        ("i_AAAAAAAAAAAAAAAAAAAAAA", "无效"),
        ("i_short", "无效"),
    ]:
        await other.send_text(f"/start {payload}")
        assert expected in (await other.wait_reply()).text
    async with bot.db.uow() as uow:
        assert (await uow.session.exec(select(Person).where(Person.telegram_user_id == 602))).first() is None
        used_rows = (await uow.session.exec(select(Invitation).where(Invitation.used_at.is_not(None)))).all()
        assert len(used_rows) == 1


async def test_unregistered_user_gets_one_polite_line_for_anything(bot) -> None:
    stranger = bot.fake.user(999, "Stranger", language_code="en")
    await stranger.send_text("hello")
    reply = await stranger.wait_reply()
    assert "registered staff only" in reply.text
    await stranger.send_text("/help")  # public commands are answered whenever asked
    assert "registered staff only" in (await stranger.wait_reply()).text
    zh = bot.fake.user(998, "陌生人", language_code="zh")
    await zh.send_text("你好")
    assert "仅供已登记人员使用" in (await zh.wait_reply()).text


async def test_a_stranger_is_answered_once_every_few_minutes(bot) -> None:
    """Three messages in a row get one answer (each answer costs a reply from the bot's shared 30 a second);
    after DUBAN_STRANGER_REPLY_INTERVAL the next one is answered again."""
    moment = [0.0]
    bot.app.bot_data.strangers = Cooldown(300, now=lambda: moment[0])
    stranger = bot.fake.user(997, "Stranger", language_code="en")
    for text in ("hello", "anyone?", "hello??"):
        await stranger.send_text(text)
    await stranger.wait_reply()
    moment[0] = 301
    await stranger.send_text("still there?")
    await stranger.wait_replies(1)
    assert [m.text for m in stranger.replies()].count(stranger.replies()[0].text) == 2 == len(stranger.replies())


async def test_redelivered_join_update_is_handled_once(bot) -> None:
    await add_unit(bot.db, bot.clock, code="V003")
    await add_person(bot.db, bot.clock, name="主任", roles=(Role.ADMIN,), telegram_user_id=902)
    code = await _invite(bot, unit="V003")
    user = bot.fake.user(701, "Once")
    message = await user.send_text(f"/start i_{code}")
    assert "Once" in (await user.wait_reply()).text
    await bot.fake.wait_confirmed(message["update_id"])
    # Telegram delivers the same update again (e.g. the confirming getUpdates was lost).
    await bot.fake.redeliver(message["update_id"])
    await user.send_text("/me")
    me = await user.wait_reply()
    assert "Once" in me.text
    assert len(user.replies()) == 2  # no second greeting, no "already used" refusal
    await bot.app.bot_data.delivery.settle()
    assert len(bot.fake.messages_to(902)) == 1  # the admin heard of the join once
    async with bot.db.uow() as uow:
        assert len((await uow.session.exec(select(AuditLog).where(AuditLog.action == "invitation.redeem"))).all()) == 1
