"""One chat cannot starve the others: its updates wait for their own turn without holding a processing
slot, and a person sending beyond their bucket is dropped before any database work, told once, and
counted -- the real bot, over HTTP, on both databases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.app.throttle import UserThrottle
from config.i18n import t
from handlers.context import Cooldown
from models.plan import Assignment, Target
from services.core import updates
from tests.support.botrig import running_bot
from tests.support.factories import add_person, add_unit
from tests.support.webhookrig import handled, sample, webhook_bot

FLOODER, OTHER, ENGLISH = 300, 301, 302


async def seed(rig) -> None:
    village = await add_unit(rig.db, rig.clock, code="V1", name="青山村")
    await add_person(rig.db, rig.clock, name="张三", unit=village, telegram_user_id=FLOODER)
    await add_person(rig.db, rig.clock, name="李四", unit=village, telegram_user_id=OTHER)
    await add_person(rig.db, rig.clock, name="Wang Wu", unit=village, telegram_user_id=ENGLISH, language="en")
    async with rig.db.uow() as uow:
        target = Target(code="T1", year=2027, title="招商引资到位资金", category="investment", measure="万元",
                        mode="zero_base", deadline=date(2027, 12, 31))
        uow.session.add(target)
        await uow.session.flush()
        uow.session.add(Assignment(target_id=target.id, unit_id=village.id, planned_value=Decimal(1000)))
        await uow.commit()


async def test_a_flood_from_one_chat_does_not_hold_up_another_chats_update(rig) -> None:
    """60 updates of one chat are waiting when another chat's one update arrives behind them, with 2
    processing slots. Were the slot taken before the chat's turn, the flood's updates would hold both
    slots and fill the queue for them (its 3rd to 60th waiting ahead of the other chat's update),
    which would be answered after about 58 of the flood's. Waiting for the chat's turn first, the
    flood holds one slot and the other chat's update takes the second at once."""
    await seed(rig)
    flooder, other = rig.fake.user(FLOODER, "张三"), rig.fake.user(OTHER, "李四")
    for _ in range(60):  # all queued before the bot starts: its first getUpdates takes them in one batch
        await flooder.send_text("/help")
    await other.send_text("/help")
    async with running_bot(rig, concurrent_updates=2, user_rate=0):
        await other.wait_reply(timeout=30)
        await flooder.wait_replies(60, timeout=60)
    order = [m.chat_id for m in rig.fake.sent if m.chat_id in (FLOODER, OTHER)]
    assert order.count(FLOODER) == 60 and order.count(OTHER) == 1
    assert order.index(OTHER) < 10, order.index(OTHER)  # before the flood's 10th answer


async def test_a_person_beyond_their_bucket_gets_one_too_fast_line_and_nothing_else_happens(rig) -> None:
    """A burst of 3 and (practically) no refill: of 8 messages the first 3 are answered, the other 5
    dropped -- no answer, no handled id -- and the person is told once; the metrics count 5."""
    await seed(rig)
    async with webhook_bot(rig, county="thr", user_rate=0.0001, user_burst=3) as hooked:
        before = await hooked.metrics()
        flooder, other = rig.fake.user(FLOODER, "张三"), rig.fake.user(OTHER, "李四")
        sent = [await flooder.send_text("/help") for _ in range(8)]
        await handled(rig, *sent)  # every POST answered 200: dropped updates count as delivered
        late = await other.send_text("/help")  # someone else is not affected
        await handled(rig, late)
        after = await hooked.metrics()
    texts = [m.text for m in flooder.replies()]
    assert len(texts) == 4, texts
    assert all("您可以使用以下命令" in text for text in texts[:3])
    assert texts[3] == t("limits.too_fast", "zh")
    assert len(other.replies()) == 1
    assert [await updates.is_handled(m.update_id, uow=rig.db.read_uow()) for m in sent] == [True] * 3 + [False] * 5
    dropped = ("duban_updates_dropped_total", {"county": "thr", "reason": "throttled"})
    assert sample(after, dropped[0], **dropped[1]) - sample(before, dropped[0], **dropped[1]) == 5
    received = "duban_updates_received_total"
    assert sample(after, received, county="thr") - sample(before, received, county="thr") == 9


async def test_a_dropped_button_press_is_answered_in_the_persons_language_and_the_dialogue_stays_put(rig) -> None:
    """A bucket of 1 refilling at 1 a second, on a clock the test moves: /report takes the token, the
    press of the target's button right after is dropped (its button answered with the too-fast line in
    English, the person's Telegram language); a second later the same press goes through and the
    dialogue asks for the value -- it had stayed at the menu."""
    await seed(rig)
    now = [1000.0]
    async with webhook_bot(rig, county="thr2") as hooked:
        hooked.app.update_processor.throttle = UserThrottle(1.0, 1, now=lambda: now[0])
        person = rig.fake.user(ENGLISH, "Wang", language_code="en")
        await person.send_text("/report")
        menu = await person.wait_reply()
        await handled(rig, await person.press_button(menu, "T1"))
        answer = await person.wait_callback_answer()
        assert answer.get("text") == t("limits.too_fast", "en")
        assert len(person.replies()) == 1  # nothing else was said
        now[0] += 1.0
        await person.press_button(menu, "T1")
        ask = await person.wait_reply()
    assert "万元" in ask.text


def test_the_bucket_and_the_notices_by_the_clock() -> None:
    """Burst 3, 0.5 a second: three at t=0, the fourth refused; at t=1.9 0.95 of a token (refused), at
    t=2.0 one (allowed). Notices: at t=0, not at 59.9, again at 60. A bucket left alone refills and is
    forgotten at the next sweep (a minute on)."""
    now = [0.0]
    throttle = UserThrottle(0.5, 3, now=lambda: now[0])
    assert [throttle.allow(7) for _ in range(4)] == [True, True, True, False]
    now[0] = 1.9
    assert throttle.allow(7) is False
    now[0] = 2.0
    assert throttle.allow(7) is True
    assert throttle.allow(8) is True  # another person has a bucket of their own
    notices = Cooldown(60.0, now=lambda: now[0])
    now[0] = 0.0
    assert notices.due(7) is True
    now[0] = 59.9
    assert notices.due(7) is False and notices.due(8) is True
    now[0] = 60.0
    assert notices.due(7) is True
    assert len(throttle) == 2
    now[0] = 70.0
    throttle.allow(9)
    assert len(throttle) == 1  # 7 and 8 had refilled: forgotten


def test_an_album_takes_one_token() -> None:
    """Burst 2, no refill: an album of 10 (one media group) takes the first token, a second album the
    other; a third message is refused, and so is the rest of an album whose first message was."""
    throttle = UserThrottle(0.0001, 2, now=lambda: 0.0)
    assert all(throttle.allow(7, "album-1") for _ in range(10))
    assert all(throttle.allow(7, "album-2") for _ in range(10))
    assert throttle.allow(7) is False
    assert [throttle.allow(7, "album-3") for _ in range(3)] == [False] * 3


def test_a_cooldown_forgets_expired_keys_and_keeps_at_most_its_limit() -> None:
    now = [0.0]
    strangers = Cooldown(300.0, limit=3, now=lambda: now[0])
    assert [strangers.due(k) for k in (1, 2, 3)] == [True, True, True]
    assert strangers.due(4) is True and len(strangers) == 3  # the oldest (1) made room
    assert strangers.due(1) is True
    now[0] = 301.0
    assert strangers.due(5) is True and len(strangers) == 1  # the others' time was over
    always = Cooldown(0.0)
    assert always.due(1) and always.due(1)  # 0 seconds: always due
