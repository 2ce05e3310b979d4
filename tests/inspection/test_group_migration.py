"""A bound group upgraded to a supergroup (a new chat id): the binding follows Telegram's service message,
and a notice sent to the old id (Telegram answers 400 with ``migrate_to_chat_id``) is re-sent to the new
one instead of failing."""

from __future__ import annotations

from sqlmodel import col, select

from models.core import AuditLog, OutboxMessage
from models.enums import Role
from models.inspection import BoundGroup
from services.core import outbox
from tests.support.factories import add_person

OLD, NEW = -4_001, -1_000_000_004_001


async def groups(rig) -> dict[int, bool]:
    async with rig.db.uow() as uow:
        return {g.chat_id: g.active for g in (await uow.session.exec(select(BoundGroup))).all()}


async def bound(bot):
    await add_person(bot.db, bot.clock, name="赵主任", roles=(Role.ADMIN,), telegram_user_id=100)
    admin = bot.fake.user(100)
    group = bot.fake.group(OLD, "青山镇工作群")
    await group.send_text(admin, "/bindgroup")
    await group.wait_reply()
    return admin, group


async def test_the_binding_follows_the_group_when_it_becomes_a_supergroup(bot) -> None:
    admin, group = await bound(bot)
    new = await group.upgrade(admin, NEW)
    # Updates of one chat are handled in order: once /bindgroup is answered there, the service message was.
    await new.send_text(admin, "/bindgroup")
    assert "本群“青山镇工作群”已绑定" in (await new.wait_reply()).text  # already: it moved here
    assert await groups(bot) == {OLD: False, NEW: True}
    async with bot.db.uow() as uow:
        (entry,) = (await uow.session.exec(select(AuditLog).where(AuditLog.action == "group.migrate"))).all()
    assert entry.after == {"chat_id": NEW, "title": "青山镇工作群"}
    assert new.chat["type"] == "supergroup"


async def test_a_notice_sent_to_the_old_id_goes_to_the_supergroup(bot) -> None:
    await bound(bot)
    bot.fake.migrated[OLD] = NEW  # upgraded, and the service message not seen (e.g. the bot was down)
    bot.fake.group(NEW, "青山镇工作群")
    async with bot.db.uow() as uow:
        await outbox.enqueue(uow.session, bot.clock, chat_id=OLD, text="关于青山镇的通报", kind="notice")
        await uow.commit()
    bot.app.bot_data.delivery.wake()
    await bot.app.bot_data.delivery.settle()
    (sent,) = [m for m in bot.fake.messages_to(NEW) if "通报" in (m.text or "")]
    assert sent.text == "关于青山镇的通报"
    async with bot.db.uow() as uow:
        (row,) = (await uow.session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == "notice"))).all()
    assert (row.chat_id, row.status) == (NEW, "sent")
    assert await groups(bot) == {OLD: False, NEW: True}
