"""Group chats: the bot acts there on nothing but binding (by an active admin), its own membership and a
supergroup upgrade. A deactivated admin gets nothing through a group, and the bot leaves a group nobody with
the right added it to, telling the admins."""

from __future__ import annotations

from sqlmodel import col, select

from models.core import AuditLog, OutboxMessage
from models.enums import Role
from models.inspection import BoundGroup
from models.people import Invitation
from services.people import person
from tests.support.botrig import handled
from tests.support.factories import add_person

GROUP = -5_001


async def _audit(bot, action: str) -> list[AuditLog]:
    async with bot.db.uow() as uow:
        return list((await uow.session.exec(select(AuditLog).where(AuditLog.action == action)
                                            .order_by(col(AuditLog.id)))).all())


async def test_a_deactivated_admin_gets_nothing_through_a_group(bot) -> None:
    """After ``duban person deactivate A1``: /invite, /me, /start, /help in a group get no answer at all and mint
    nothing; in the private chat the gate says the person is deactivated. Only the active admin's /bindgroup is
    answered in the group (updates of one chat are handled in order, so it is answered last)."""
    await add_person(bot.db, bot.clock, name="旧主任", code="A1", roles=(Role.ADMIN,), telegram_user_id=100)
    await add_person(bot.db, bot.clock, name="新主任", code="A2", roles=(Role.ADMIN,), telegram_user_id=101)
    await person.deactivate("A1", actor="cli", uow=bot.db.uow(), clock=bot.clock)
    old, new = bot.fake.user(100), bot.fake.user(101)
    group = bot.fake.group(GROUP, "青山镇工作群")
    for text in ("/invite admin", "/me", "/start", "/help", "/report", "随便说点什么"):
        await group.send_text(old, text)
    await group.send_text(new, "/bindgroup")
    (only,) = await group.wait_replies(1)
    assert "已绑定" in only.text
    assert [m.text for m in bot.fake.sent if m.chat_id == GROUP] == [only.text]
    await old.send_text("/invite admin")
    assert "停用" in (await old.wait_reply()).text
    async with bot.db.uow() as uow:
        assert (await uow.session.exec(select(Invitation))).all() == []


async def test_a_deactivated_admin_cannot_bind_a_group(bot) -> None:
    await add_person(bot.db, bot.clock, name="旧主任", code="A1", roles=(Role.ADMIN,), telegram_user_id=100)
    await person.deactivate("A1", actor="cli", uow=bot.db.uow(), clock=bot.clock)
    group = bot.fake.group(GROUP, "青山镇工作群")
    await group.send_text(bot.fake.user(100), "/bindgroup")
    assert "只有县目标办工作人员" in (await group.wait_reply()).text
    async with bot.db.uow() as uow:
        assert (await uow.session.exec(select(BoundGroup))).all() == []


async def test_the_bot_leaves_a_group_added_by_someone_else_and_tells_the_admins(bot) -> None:
    """A cadre adds the bot to a group: it leaves at once, the active admin hears who tried, audited; an active
    admin adding it keeps it there."""
    await add_person(bot.db, bot.clock, name="赵主任", roles=(Role.ADMIN,), telegram_user_id=100)
    await add_person(bot.db, bot.clock, name="张三", code="C9", telegram_user_id=200)
    group = bot.fake.group(GROUP, "随便拉的群")
    await group.add_bot(bot.fake.user(200))
    await bot.fake.wait_for_request("leaveChat", lambda p: int(p["chat_id"]) == GROUP)
    told = await bot.fake.user(100).wait_reply()
    assert "张三 (C9)" in told.text and "随便拉的群" in told.text and "已退出" in told.text
    (refused,) = await _audit(bot, "group.refused")
    assert refused.entity_key == str(GROUP) and refused.after["added_by"] == "张三 (C9)"

    kept = bot.fake.group(-5_002, "青山镇工作群")
    await handled(bot, lambda: kept.add_bot(bot.fake.user(100)))
    (joined,) = await _audit(bot, "group.joined")
    assert joined.entity_key == "-5002"
    assert [int(p["chat_id"]) for p in bot.fake.requests_for("leaveChat")] == [GROUP]


async def test_removed_from_a_bound_group_the_binding_ends(bot) -> None:
    await add_person(bot.db, bot.clock, name="赵主任", roles=(Role.ADMIN,), telegram_user_id=100)
    admin = bot.fake.user(100)
    group = bot.fake.group(GROUP, "青山镇工作群")
    await group.send_text(admin, "/bindgroup")
    await group.wait_reply()
    await handled(bot, lambda: group.remove_bot(admin))
    (removed,) = await _audit(bot, "group.removed")
    assert removed.after == {"active": False}
    async with bot.db.uow() as uow:
        assert (await uow.session.get(BoundGroup, GROUP)).active is False
        assert (await uow.session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == GROUP))).all() == []
