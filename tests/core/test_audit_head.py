"""The audit log's head (row count and head hash) goes to every active, joined admin once a day, after the
morning's quiet hours, through the outbox, and into the log; the hash they hold verifies the chain later."""

from __future__ import annotations

from sqlmodel import col, select

from bot.app.jobs import run_scheduled
from models.core import AuditLog, OutboxMessage
from models.enums import Role
from services.core import audit, audit_chain
from tests.support.factories import add_person

ADMIN, ADMIN_EN = 100, 101


async def heads(rig) -> list[OutboxMessage]:
    async with rig.db.uow() as uow:
        return list((await uow.session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == audit_chain.HEAD_KIND).order_by(col(OutboxMessage.id)))).all())


async def chain_head(rig) -> tuple[int, str]:
    async with rig.db.uow() as uow:
        chain = (await uow.session.exec(select(AuditLog).order_by(col(AuditLog.id)))).all()
    return len(chain), chain[-1].row_hash


async def seed(rig) -> None:
    """Two joined admins (one reads English), one admin who never joined, one who left, and a cadre; three
    audit rows."""
    await add_person(rig.db, rig.clock, name="赵主任", roles=(Role.ADMIN,), telegram_user_id=ADMIN)
    await add_person(rig.db, rig.clock, name="Qian", roles=(Role.ADMIN,), telegram_user_id=ADMIN_EN, language="en")
    await add_person(rig.db, rig.clock, name="孙", roles=(Role.ADMIN,))
    gone = await add_person(rig.db, rig.clock, name="李", roles=(Role.ADMIN,), telegram_user_id=102)
    await add_person(rig.db, rig.clock, name="周", telegram_user_id=103)
    async with rig.db.uow() as uow:
        for action in ("person.deactivate", "unit.update", "target.update"):
            audit.record(uow.session, rig.clock, actor="cli", action=action, entity="person", key=gone.code)
        await uow.commit()
    async with rig.db.uow() as uow:
        row = await uow.session.get(type(gone), gone.id)
        row.active = False
        uow.session.add(row)
        await uow.commit()


def logged(caplog) -> list[str]:
    """The log lines about the audit head so far (and forget them)."""
    lines = [r.getMessage() for r in caplog.records if hasattr(r, "audit_head")]
    caplog.clear()
    return lines


async def test_the_head_goes_to_each_joined_admin_once_a_day_after_quiet_hours(cli, rig, caplog) -> None:
    """Quiet hours end at 08:00: a tick at 07:59 sends nothing, the one at 08:00 sends the day's head to the
    two joined admins (each in their language) and logs it; later ticks that day send nothing more; the next
    morning sends again. ``duban jobs tick`` runs the same scheduler as the bot."""
    caplog.set_level("INFO", logger="bot.app.jobs")
    await seed(rig)
    count, head = await chain_head(rig)
    early = await cli.tick_at(rig.clock, "2027-03-22T07:59")
    assert early.code == 0 and await heads(rig) == [] and logged(caplog) == []
    morning = await cli.tick_at(rig.clock, "2027-03-22T08:00")
    assert morning.code == 0
    assert logged(caplog) == [f"audit head 2027-03-22: {count} rows, {head} (sent to 2 admins)"]
    zh, en = await heads(rig)
    assert (zh.chat_id, en.chat_id) == (ADMIN, ADMIN_EN) and zh.dedup_key == "audit.head:2027-03-22"
    assert f"共 {count} 条记录" in zh.text and f"<code>{head}</code>" in zh.text and zh.parse_mode == "HTML"
    assert f"{count} rows, head hash" in en.text and f"<code>{head}</code>" in en.text
    evening = await cli.tick_at(rig.clock, "2027-03-22T20:59")
    assert evening.code == 0 and logged(caplog) == [] and len(await heads(rig)) == 2
    async with rig.db.uow() as uow:  # something happens overnight
        audit.record(uow.session, rig.clock, actor="cli", action="unit.update", entity="unit", key="V1")
        await uow.commit()
    next_day = await cli.tick_at(rig.clock, "2027-03-23T08:30")
    assert next_day.code == 0 and logged(caplog)[0].startswith(f"audit head 2027-03-23: {count + 1} rows")
    later = (await heads(rig))[2:]
    assert [m.dedup_key for m in later] == ["audit.head:2027-03-23"] * 2
    verified = await cli("audit", "verify", "--known", head, "--known", (await chain_head(rig))[1])
    assert verified.code == 0 and verified.out.count("在链中") == 2


async def test_the_log_line_carries_the_head_as_fields(rig, caplog) -> None:
    await seed(rig)
    count, head = await chain_head(rig)
    caplog.set_level("INFO", logger="bot.app.jobs")
    work = await run_scheduled(rig.clock.now(), db=rig.db, settings=rig.settings, clock=rig.clock, county="c1")
    assert work.audit_head == audit_chain.HeadPush(rig.clock.now().date(), count, head, 2)
    (line,) = [r for r in caplog.records if hasattr(r, "audit_head")]
    assert (line.audit_head, line.audit_rows, line.audit_day, line.county) == (head, count, "2027-03-22", "c1")
    assert (await run_scheduled(rig.clock.now(), db=rig.db, settings=rig.settings, clock=rig.clock)).audit_head \
        is None


async def test_the_admin_receives_the_head_in_the_running_bot(bot) -> None:
    await seed(bot)
    _, head = await chain_head(bot)
    await run_scheduled(bot.clock.now(), db=bot.db, settings=bot.settings, clock=bot.clock)
    bot.app.bot_data.delivery.wake()
    message = await bot.fake.user(ADMIN, "赵主任").wait_reply(lambda m: "审计日志链头" in (m.text or ""))
    assert head in message.text and "duban audit verify --known" in message.text
    await run_scheduled(bot.clock.now(), db=bot.db, settings=bot.settings, clock=bot.clock)
    assert [m.chat_id for m in await heads(bot)] == [ADMIN, ADMIN_EN]
