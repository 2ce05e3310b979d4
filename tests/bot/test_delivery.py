"""The one delivery path: outbox rows sent in order, retried on 429/5xx, 403 marks unreachable."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from models.core import OutboxMessage
from models.enums import Role
from models.people import Person
from services.core import outbox
from tests.support.factories import add_person


async def _queue(rig, person: Person, *texts: str) -> None:
    async with rig.db.uow() as uow:
        for text in texts:
            await outbox.enqueue_to_person(uow.session, rig.clock, person, text=text, kind="test")
        await uow.commit()
    rig.app.bot_data.delivery.wake()


async def _rows(rig) -> list[OutboxMessage]:
    async with rig.db.uow() as uow:
        return list((await uow.session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


async def test_messages_of_one_chat_arrive_in_order_and_are_marked_sent(bot) -> None:
    person = await add_person(bot.db, bot.clock, name="A", roles=(Role.LEADER,), telegram_user_id=11)
    await _queue(bot, person, "一", "二", "三")
    chat = bot.fake.user(11)
    got = await chat.wait_replies(3)
    assert [m.text for m in got] == ["一", "二", "三"]
    await bot.app.bot_data.delivery.settle()
    rows = await _rows(bot)
    assert [r.status for r in rows] == ["sent"] * 3
    assert [r.telegram_message_id for r in rows] == [m.message_id for m in got]


async def test_429_waits_retry_after_without_holding_back_other_chats(bot) -> None:
    slow = await add_person(bot.db, bot.clock, name="Slow", roles=(Role.LEADER,), telegram_user_id=21)
    other = await add_person(bot.db, bot.clock, name="Other", roles=(Role.LEADER,), telegram_user_id=22)
    bot.fake.fail_next("sendMessage", status=429, retry_after=30, chat_id=21)
    await _queue(bot, slow, "first", "second")
    await _queue(bot, other, "hello")
    assert (await bot.fake.user(22).wait_reply()).text == "hello"
    await bot.fake.wait_until(lambda: bot.fake.errors)
    await bot.app.bot_data.delivery.settle()
    # Rescheduled exactly retry_after later; the second message waits behind the first.
    rows = {r.text: r for r in await _rows(bot)}
    assert rows["first"].status == "pending"
    assert rows["first"].next_attempt_at == bot.clock.now() + timedelta(seconds=30)
    assert rows["second"].status == "pending" and rows["second"].attempts == 0
    assert bot.fake.messages_to(21) == []
    bot.clock.advance(timedelta(seconds=30))
    bot.app.bot_data.delivery.wake()
    got = await bot.fake.user(21).wait_replies(2)
    assert [m.text for m in got] == ["first", "second"]


async def test_server_errors_back_off_then_deliver(bot) -> None:
    person = await add_person(bot.db, bot.clock, name="B", roles=(Role.CADRE,), telegram_user_id=31)
    bot.fake.fail_next("sendMessage", status=502, chat_id=31)
    await _queue(bot, person, "retry me")
    await bot.fake.wait_until(lambda: bot.fake.errors)
    await bot.app.bot_data.delivery.settle()
    (row,) = await _rows(bot)
    assert row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at == bot.clock.now() + timedelta(seconds=outbox.BACKOFF_BASE_SECONDS)
    bot.clock.advance(timedelta(seconds=outbox.BACKOFF_BASE_SECONDS))
    bot.app.bot_data.delivery.wake()
    assert (await bot.fake.user(31).wait_reply()).text == "retry me"


async def test_blocked_bot_marks_the_person_unreachable_and_stops_trying(bot) -> None:
    person = await add_person(bot.db, bot.clock, name="C", roles=(Role.CADRE,), telegram_user_id=41)
    bot.fake.block_bot(41)
    await _queue(bot, person, "one", "two")
    await bot.fake.wait_until(lambda: bot.fake.errors)
    await bot.app.bot_data.delivery.settle()
    rows = await _rows(bot)
    assert [r.status for r in rows] == ["unreachable", "unreachable"]
    sends = [p for m, p in bot.fake.requests if m == "sendMessage" and p.get("chat_id") == 41]
    assert len(sends) == 1
    async with bot.db.uow() as uow:
        again = await uow.session.get(Person, person.id)
        assert again is not None and again.unreachable_at == bot.clock.now()
        # Nothing more is queued for someone who blocked the bot.
        assert await outbox.enqueue_to_person(uow.session, bot.clock, again, text="x", kind="test") is None


async def test_a_dedup_key_is_queued_once_per_chat(bot) -> None:
    person = await add_person(bot.db, bot.clock, name="D", roles=(Role.LEADER,), telegram_user_id=51)
    async with bot.db.uow() as uow:
        first = await outbox.enqueue_to_person(uow.session, bot.clock, person, text="x", kind="t", dedup_key="k1")
        await uow.session.flush()
        second = await outbox.enqueue_to_person(uow.session, bot.clock, person, text="x", kind="t", dedup_key="k1")
        await uow.commit()
    assert first is not None and second is None
