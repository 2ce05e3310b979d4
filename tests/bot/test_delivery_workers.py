"""Delivery workers on their own (no Application): leases, crashes, failures, 403 notices, two
workers on PostgreSQL, and the outbox rate. Both databases, FixedClock, no wall-clock sleeps."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlmodel import col, select
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.app.delivery import DEFAULT_RATE, DeliveryWorker
from bot.app.ratelimit import RateLimiter, TokenBucket
from config.settings import Settings
from models.core import OutboxMessage
from models.db import Database
from models.enums import Role
from models.people import Person
from services.core import outbox
from tests.support.factories import add_person


async def _until(check: Callable[[], object], timeout: float = 10.0) -> None:
    """Yield to the loop until ``check()`` holds (for state the fake does not signal)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0)


async def _ext_bot(fake) -> ExtBot:
    bot = ExtBot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url,
                 rate_limiter=RateLimiter(max_retries=3), request=HTTPXRequest(connection_pool_size=64))
    await bot.initialize()
    return bot


@pytest.fixture
async def make_worker(fake, database, clock):
    made: list[tuple[DeliveryWorker, ExtBot]] = []

    async def make(db: Database | None = None, **kwargs) -> DeliveryWorker:
        bot = await _ext_bot(fake)
        options = {"interval": 0.05, "per_chat_interval": 0.0, "rate": 1000.0} | kwargs
        worker = DeliveryWorker(bot, db or database, clock, **options)
        made.append((worker, bot))
        return worker

    yield make
    for worker, bot in made:
        await worker.stop()
        await bot.shutdown()


async def _enqueue(db: Database, clock, items: list[tuple[int, str]]) -> None:
    async with db.uow() as uow:
        for chat_id, text in items:
            await outbox.enqueue(uow.session, clock, chat_id=chat_id, text=text, kind="test")
        await uow.commit()


async def _rows(db: Database) -> list[OutboxMessage]:
    async with db.uow() as uow:
        return list((await uow.session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


def _sent_texts(fake, chat_id: int | None = None) -> list[str]:
    return [m.text for m in fake.sent if chat_id is None or m.chat_id == chat_id]


async def test_lease_is_held_while_sending_and_cleared_after(fake, database, clock, make_worker) -> None:
    entered, release = asyncio.Event(), asyncio.Event()

    async def held(params: dict) -> dict:
        entered.set()
        await release.wait()
        return fake._m_sendMessage(params)

    fake.register("sendMessage", held)
    await _enqueue(database, clock, [(71, "held")])
    worker = await make_worker(owner="worker-A")
    worker.start()
    try:
        await asyncio.wait_for(entered.wait(), 10)
        (row,) = await _rows(database)
        assert row.status == "pending" and row.attempts == 1
        assert row.lease_owner == "worker-A"
        assert row.lease_expires_at == clock.now() + outbox.LEASE
    finally:
        release.set()
    await worker.settle()
    (row,) = await _rows(database)
    assert row.status == "sent" and row.telegram_message_id == fake.messages_to(71)[0].message_id
    assert row.lease_owner is None and row.lease_expires_at is None


async def test_a_crashed_workers_rows_come_back_when_the_lease_expires(fake, database, clock, make_worker) -> None:
    await _enqueue(database, clock, [(81, "a1"), (82, "b1"), (81, "a2"), (83, "c1")])
    # A worker leases the heads of chats 81 and 82, then dies before sending anything.
    crashed = await outbox.lease_due(uow=database.uow(), clock=clock, owner="crashed", limit=2)
    assert [d.text for d in crashed] == ["a1", "b1"]
    worker = await make_worker(owner="survivor")
    worker.start()
    await worker.settle()
    assert _sent_texts(fake) == ["c1"]  # a2 waits behind its chat's leased head
    clock.advance(outbox.LEASE - timedelta(seconds=1))
    await worker.settle()
    assert _sent_texts(fake) == ["c1"]  # a live lease is respected
    clock.advance(timedelta(seconds=2))
    await worker.settle()
    assert sorted(_sent_texts(fake)) == ["a1", "a2", "b1", "c1"]
    assert _sent_texts(fake, 81) == ["a1", "a2"]
    rows = {r.text: r for r in await _rows(database)}
    assert all(r.status == "sent" and r.lease_owner is None and r.lease_expires_at is None for r in rows.values())
    assert rows["a1"].attempts == 2 and rows["c1"].attempts == 1


async def test_injected_failures_lose_nothing_and_repeat_only_requests_in_flight(
    fake, database, clock, make_worker
) -> None:
    rng = random.Random(7)
    chats = list(range(1001, 1016))
    items = [(chats[i % len(chats)], f"m{i:02d}") for i in range(60)]
    await _enqueue(database, clock, items)
    # 12 failures (20%): 429 with retry_after, 502, and timeouts. A timeout the server answers with
    # 504 delivered nothing; one it answers normally, too late, delivered the message (in flight).
    kinds = ["429", "429", "429", "502", "502", "502", "timeout", "timeout", "timeout", "late", "late", "502"]
    late_chats = []
    for kind in kinds:
        chat = rng.choice(chats)
        if kind == "429":
            fake.fail_next("sendMessage", status=429, retry_after=rng.choice([1, 3, 30]), chat_id=chat)
        elif kind == "502":
            fake.fail_next("sendMessage", status=502, chat_id=chat)
        elif kind == "timeout":
            fake.fail_next("sendMessage", status=504, delay=1.5, chat_id=chat)
        else:
            fake.delay_next("sendMessage", 1.5, chat_id=chat)
            late_chats.append(chat)
    worker = await make_worker(send_timeout=0.5)
    worker.start()
    for _ in range(30):
        await worker.settle(timeout=30)
        if all(r.status == "sent" for r in await _rows(database)):
            break
        clock.advance(timedelta(hours=1))  # past every retry_after and backoff
    rows = await _rows(database)
    assert [r.status for r in rows] == ["sent"] * 60
    await fake.wait_until(lambda: len(fake.sent) == 60 + len(late_chats), what="the late deliveries")
    counts = Counter(_sent_texts(fake))
    assert set(counts) == {text for _, text in items}
    twice = {text for text, n in counts.items() if n > 1}
    assert all(n <= 2 for n in counts.values())
    assert len(twice) == len(late_chats)
    assert {chat for chat, text in items if text in twice} == set(late_chats)
    for chat in chats:  # each chat's messages arrive in order (first arrival of each)
        firsts = list(dict.fromkeys(_sent_texts(fake, chat)))
        assert firsts == [text for c, text in items if c == chat]
    await fake.wait_until(lambda: len(fake.errors) == 10, what="the late 504 answers")
    assert Counter(status for *_, status, _ in fake.errors) == {429: 3, 502: 4, 504: 3}
    assert worker.rate_limited_count == 3 and worker.error_count == 4 + 3 + 2  # 502s, timeouts
    assert all(r.lease_owner is None for r in rows)


async def test_403_stops_the_person_and_tells_each_admin_once_in_their_language(
    fake, database, clock, make_worker
) -> None:
    zh_admin = await add_person(database, clock, name="主任", roles=(Role.ADMIN,), telegram_user_id=901)
    en_admin = await add_person(database, clock, name="Director", roles=(Role.ADMIN,), telegram_user_id=902,
                                language="en")
    await add_person(database, clock, name="未加入", roles=(Role.ADMIN,))  # an admin who never joined
    await add_person(database, clock, name="领导", roles=(Role.LEADER,), telegram_user_id=903)
    cadre = await add_person(database, clock, name="张三", code="C041", roles=(Role.CADRE,), telegram_user_id=41)
    async with database.uow() as uow:
        for text in ("one", "two", "three"):
            await outbox.enqueue_to_person(uow.session, clock, cadre, text=text, kind="test")
        await uow.commit()
    fake.block_bot(41)
    worker = await make_worker()
    worker.start()
    await worker.settle()
    rows = [r for r in await _rows(database) if r.chat_id == 41]
    assert [r.status for r in rows] == ["unreachable"] * 3
    assert len([p for p in fake.requests_for("sendMessage") if p.get("chat_id") == 41]) == 1
    async with database.uow() as uow:
        again = await uow.session.get(Person, cadre.id)
        assert again is not None and again.unreachable_at == clock.now()
    (zh,) = fake.messages_to(901)
    (en,) = fake.messages_to(902)
    assert "张三" in zh.text and "C041" in zh.text and "屏蔽" in zh.text
    assert "张三" in en.text and "blocked the bot" in en.text
    assert fake.messages_to(903) == []
    # Another 403 for the same person (a row queued by chat id) does not tell the admins again.
    await _enqueue(database, clock, [(41, "four")])
    await worker.settle()
    assert len([p for p in fake.requests_for("sendMessage") if p.get("chat_id") == 41]) == 2
    assert len(fake.messages_to(901)) == 1 and len(fake.messages_to(902)) == 1
    notices = [r for r in await _rows(database) if r.kind == outbox.UNREACHABLE_KIND]
    assert sorted(r.chat_id for r in notices) == [901, 902] and {r.person_id for r in notices} == {
        zh_admin.id, en_admin.id}


@pytest.mark.postgres_only  # several workers need SKIP LOCKED; SQLite runs one
async def test_concurrent_leases_on_postgresql_take_disjoint_rows(database, clock, db_kind) -> None:
    await _enqueue(database, clock, [(5000 + i, f"q{i}") for i in range(120)])
    other = Database(database.url)
    try:
        taken: dict[int, str] = {}
        for _ in range(6):  # both ask at the same moment, each on its own connection
            a, b = await asyncio.gather(
                outbox.lease_due(uow=database.uow(), clock=clock, owner="a", limit=10),
                outbox.lease_due(uow=other.uow(), clock=clock, owner="b", limit=10),
            )
            assert not {d.id for d in a} & {d.id for d in b}
            taken |= {d.id: "a" for d in a} | {d.id: "b" for d in b}
    finally:
        await other.dispose()
    assert len(taken) == 120
    assert {r.id: r.lease_owner for r in await _rows(database)} == taken


@pytest.mark.postgres_only  # several workers need SKIP LOCKED; SQLite runs one
async def test_two_workers_on_postgresql_never_send_a_row_twice(
    fake, database, clock, make_worker, db_kind
) -> None:
    items = [(2000 + i % 50, f"r{i:03d}") for i in range(200)]
    await _enqueue(database, clock, items)
    second_db = Database(database.url)  # as if another process
    statements: list[str] = []
    event.listen(second_db.engine.sync_engine, "before_cursor_execute",
                 lambda _c, _cur, sql, *_: statements.append(sql))
    try:
        one = await make_worker(owner="one", batch_size=8)
        two = await make_worker(second_db, owner="two", batch_size=8)
        one.start()
        two.start()
        await fake.wait_until(lambda: len(fake.sent) >= 200, timeout=60, what="200 sends")
        await one.settle(timeout=30)
        await two.settle(timeout=30)
        assert one.sent_count > 0 and two.sent_count > 0
        assert one.sent_count + two.sent_count == 200
    finally:
        await second_db.dispose()
    counts = Counter(_sent_texts(fake))
    assert len(fake.sent) == 200 and set(counts.values()) == {1}
    for chat in range(2000, 2050):
        assert _sent_texts(fake, chat) == [text for c, text in items if c == chat]
    assert [r.status for r in await _rows(database)] == ["sent"] * 200
    assert any("FOR UPDATE OF outbox SKIP LOCKED" in s for s in statements)


async def test_the_token_bucket_paces_to_the_rate_after_a_small_burst() -> None:
    now = [0.0]
    stall = [0.0]

    async def sleep(seconds: float) -> None:  # time passes only when asked (plus an injected stall)
        now[0] += seconds + stall[0]
        stall[0] = 0.0

    bucket = TokenBucket(20, now=lambda: now[0], sleep=sleep)
    assert bucket.burst == 5
    starts: list[float] = []

    async def one() -> None:
        await bucket.acquire()
        starts.append(now[0])

    await asyncio.gather(*(one() for _ in range(60)))  # 60 callers at once
    assert starts[:5] == [0.0] * 5
    assert starts[5:] == pytest.approx([(n - 5) / 20 for n in range(6, 61)])
    assert starts[-1] == pytest.approx(2.75)
    # In any one-second window at most burst + rate (25 < Telegram's 30) go out.
    assert max(sum(1 for s in starts if t <= s < t + 1) for t in starts) <= 25
    # Idle for long, or a stalled event loop: only the burst is saved up, not the seconds missed.
    now[0] += 100.0
    base = now[0]
    stall[0] = 3.0  # the first wait overruns by 3 s
    starts.clear()
    await asyncio.gather(*(one() for _ in range(30)))
    assert starts[:5] == [base] * 5
    assert starts[5:10] == [base + 3.05] * 5  # after the stall: a burst, not the 60 tokens missed
    assert starts[10:] == pytest.approx([base + 3.05 + n / 20 for n in range(1, 21)])
    assert max(sum(1 for s in starts if t <= s < t + 1) for t in starts) <= 25


def test_the_worker_uses_the_configured_outbox_rate() -> None:
    assert Settings.model_fields["outbox_rate"].default == DEFAULT_RATE == 20
    worker = DeliveryWorker(None, None, None, rate=12.5)  # type: ignore[arg-type]
    assert worker.bucket.rate == 12.5 and worker.batch_size == 13


async def test_outbox_rate_and_per_chat_interval_space_the_requests(fake, database, clock, make_worker) -> None:
    arrivals: list[tuple[float, int]] = []

    def stamped(params: dict) -> dict:
        arrivals.append((time.monotonic(), params["chat_id"]))
        return fake._m_sendMessage(params)

    fake.register("sendMessage", stamped)
    # 40 chats at 50/s (burst 12.5): the last request cannot start before (40 - 12.5) / 50 = 0.55 s after the
    # first. Measured where the worker starts each request (its bucket grants it): when requests arrive at
    # the fake also depends on how fast the first connections open.
    granted: list[float] = []

    class Stamped(TokenBucket):
        async def acquire(self) -> None:
            await super().acquire()
            granted.append(time.monotonic())

    await _enqueue(database, clock, [(3000 + i, f"x{i}") for i in range(40)])
    worker = await make_worker(rate=50.0, bucket=Stamped(50.0))
    worker.start()
    await worker.settle(timeout=30)
    assert len(arrivals) == 40 and len(granted) == 40
    assert granted[-1] - granted[0] >= 0.95 * (40 - 12.5) / 50
    await worker.stop()
    # One chat, 0.2 s apart: each request starts at least 0.2 s after the previous one ended.
    arrivals.clear()
    await _enqueue(database, clock, [(3100, f"y{i}") for i in range(4)])
    paced = await make_worker(per_chat_interval=0.2)
    paced.start()
    await paced.settle(timeout=30)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(arrivals)]
    assert len(arrivals) == 4 and min(gaps) >= 0.2
    assert _sent_texts(fake, 3100) == ["y0", "y1", "y2", "y3"]


async def test_stopping_hands_back_rows_not_yet_sent(fake, database, clock, make_worker) -> None:
    await _enqueue(database, clock, [(4000 + i, f"z{i}") for i in range(5)])
    worker = await make_worker(rate=0.2, batch_size=5, stop_grace=0.0)  # one per 5 s: the rest wait in the bucket
    worker.start()
    await _until(lambda: worker.sent_count == 1)
    await worker.stop()
    rows = await _rows(database)
    assert [r.status for r in rows] == ["sent"] + ["pending"] * 4
    assert all(r.lease_owner is None and r.attempts == 0 for r in rows[1:])
    assert len(fake.sent) == 1
