"""/help, /me, /lang and admin rights: what each person sees, in their language."""

from __future__ import annotations

from sqlmodel import select

from models.core import AuditLog
from models.enums import Role
from models.people import Invitation, Person
from tests.support.botrig import running_bot
from tests.support.factories import add_person, add_unit


async def test_help_lists_only_the_commands_of_the_users_roles(bot) -> None:
    unit = await add_unit(bot.db, bot.clock, code="V020")
    await add_person(bot.db, bot.clock, name="干部甲", unit=unit, telegram_user_id=100, roles=(Role.CADRE,))
    await add_person(bot.db, bot.clock, name="主任", telegram_user_id=101, roles=(Role.ADMIN,))
    cadre, admin = bot.fake.user(100), bot.fake.user(101)
    await cadre.send_text("/help")
    cadre_help = (await cadre.wait_reply()).text
    await admin.send_text("/help")
    admin_help = (await admin.wait_reply()).text
    assert "/me" in cadre_help and "/invite" not in cadre_help
    assert "/invite" in admin_help


async def test_lang_switches_every_reply_and_is_remembered(bot) -> None:
    unit = await add_unit(bot.db, bot.clock, code="V021", name="东山村")
    await add_person(bot.db, bot.clock, name="李四", unit=unit, telegram_user_id=110, roles=(Role.CADRE,))
    user = bot.fake.user(110, language_code="zh")
    await user.send_text("/lang en")
    assert (await user.wait_reply()).text == "Language switched to English."
    await user.send_text("/me")
    me = (await user.wait_reply()).text
    assert me.startswith("李四 (code") and "cadre" in me and "Language: English" in me
    menu = await bot.fake.wait_for_request("setMyCommands", lambda p: (p.get("scope") or {}).get("chat_id") == 110)
    assert menu["commands"][0]["description"] == "Start / register"
    await user.send_text("/lang fr")
    assert "not available" in (await user.wait_reply()).text
    await user.send_text("/lang zh")
    assert (await user.wait_reply()).text == "语言已切换为简体中文。"
    async with bot.db.uow() as uow:
        person = (await uow.session.exec(select(Person).where(Person.telegram_user_id == 110))).one()
        assert person.language == "zh"
        assert len((await uow.session.exec(select(AuditLog).where(AuditLog.action == "person.language"))).all()) == 2


async def test_unknown_text_from_a_registered_user_points_to_help(bot) -> None:
    await add_person(bot.db, bot.clock, name="王五", telegram_user_id=120, roles=(Role.LEADER,), language="en")
    user = bot.fake.user(120)
    await user.send_text("what now?")
    assert "Send /help" in (await user.wait_reply()).text


async def test_configured_admin_ids_are_admins_from_the_first_message(rig) -> None:
    await add_unit(rig.db, rig.clock, code="V022")
    async with running_bot(rig, admin_ids=[4242], bot_username="duban_test_bot"):
        boss = rig.fake.user(4242, "Office", language_code="zh")
        await boss.send_text("/start")
        greeting = (await boss.wait_reply()).text
        assert "目标办" in greeting and "/invite" in greeting
        await boss.send_text("/invite 干部 V022")
        created = (await boss.wait_reply()).text
        assert "https://t.me/duban_test_bot?start=i_" in created
        await boss.send_text("/invite mayor")
        assert "未知角色" in (await boss.wait_reply()).text
        await boss.send_text("/invite cadre")
        assert "需要指定单位" in (await boss.wait_reply()).text
        outsider = rig.fake.user(4343)
        await add_person(rig.db, rig.clock, name="普通干部", telegram_user_id=4343, roles=(Role.CADRE,))
        await outsider.send_text("/invite cadre V022")
        assert "没有使用该命令的权限" in (await outsider.wait_reply()).text
    async with rig.db.uow() as uow:
        assert len((await uow.session.exec(select(Invitation))).all()) == 1
