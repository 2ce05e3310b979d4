"""Benchmark (not a test): 10,000 alerts to 2,000 people through the outbox and the delivery worker,
against a fake Bot API that enforces Telegram's flood limits with 429s.

    .venv/bin/python -m bench.alert_delivery [--scale 10] [--alerts 10000] [--people 2000]
        [--rate 20] [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres] [--workers 1]

The fake answers 429 (retry_after 1) to a sendMessage over 30 in the last second overall or within
1 s of the previous message to the same chat. Time is scaled: with --scale 10 a "second" of the fake,
of the worker's pacing (outbox rate, per-chat interval, AIORateLimiter) and of the worker's clock
(retry_after, backoff, leases) is 0.1 s of wall time, so every rate is ten times faster and the run
ten times shorter. Reported per scaled second:
delivered/s as a fraction of the configured outbox rate (goal >= 95%), the share of requests answered
429 (goal <= 1%), alerts lost (never delivered) and duplicated (delivered twice): goal 0 and 0.
A database URL runs on a fresh PostgreSQL database (several --workers possible); default SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also runnable as ``python bench/alert_delivery.py``
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import func, select  # noqa: E402
from telegram.ext import ExtBot  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from bot.app.delivery import DeliveryWorker  # noqa: E402
from bot.app.ratelimit import RateLimiter, TokenBucket  # noqa: E402
from bot.sandbox.botapi.chats import FakeApiError  # noqa: E402
from bot.sandbox.botapi.server import FakeBotAPI  # noqa: E402
from models.core import OutboxMessage  # noqa: E402
from models.db import Database, make_engine  # noqa: E402
from models.enums import OutboxStatus  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from models.people import Person  # noqa: E402
from services.core import outbox  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
USER0 = 800_000  # Telegram id of person 0


class ScaledClock:
    """The worker's clock: ``scale`` seconds pass for every second of wall time."""

    def __init__(self, scale: float) -> None:
        self.tz = TZ
        self.scale = scale
        self._base = datetime.now(TZ)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self._base + timedelta(seconds=(time.monotonic() - self._t0) * self.scale)


class FloodFake(FakeBotAPI):
    """The fake Bot API with Telegram's flood control, in scaled time: 429 when a sendMessage would
    be the (overall+1)-th in the last second or comes within 1/per_chat s of the chat's previous one."""

    def __init__(self, scale: float, overall: int = 30, per_chat: float = 1.0) -> None:
        super().__init__(strict_parse_mode=False)
        self.scale, self.overall, self.per_chat = scale, overall, per_chat
        self.window: deque[float] = deque()  # wall times of accepted sends in the last scaled second
        self.last_to_chat: dict[int, float] = {}
        self.accepted: list[tuple[float, str]] = []  # (wall time, text)
        self.delivered: set[str] = set()
        self.too_many = Counter[str]()  # 429s by limit: "overall", "chat"
        self.attempts = 0
        self.register("sendMessage", self._send)

    def _send(self, params: dict) -> dict:
        now = time.monotonic()
        self.attempts += 1
        second = 1.0 / self.scale
        while self.window and now - self.window[0] >= second:
            self.window.popleft()
        chat = params.get("chat_id")
        last = self.last_to_chat.get(chat)  # type: ignore[arg-type]
        over = "overall" if len(self.window) >= self.overall else None
        if last is not None and now - last < second / self.per_chat:
            over = "chat"
        if over:
            self.too_many[over] += 1
            raise FakeApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        self.window.append(now)
        self.last_to_chat[chat] = now  # type: ignore[index]
        self.accepted.append((now, params["text"]))
        self.delivered.add(params["text"])
        self.sent.clear()  # keep memory flat: the bench counts ``accepted``
        self.requests.clear()
        return self._m_sendMessage(params)


async def prepare_database(url: str | None) -> tuple[str, object]:
    """A fresh migrated database: a temporary SQLite file, or a new database on the given server."""
    if url is None:
        folder = tempfile.TemporaryDirectory(prefix="duban-bench-")
        db_url = f"sqlite+aiosqlite:///{folder.name}/bench.db"
        cleanup: object = folder
    else:
        name = f"duban_bench_{uuid.uuid4().hex[:8]}"
        admin_dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        db_url = make_url(url).set(database=name).render_as_string(hide_password=False)
        cleanup = (admin_dsn, name)
    engine = make_engine(db_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    return db_url, cleanup


async def drop_database(cleanup: object) -> None:
    if isinstance(cleanup, tuple):
        admin_dsn, name = cleanup
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
    else:
        cleanup.cleanup()  # type: ignore[attr-defined]


async def seed(db: Database, clock: ScaledClock, people: int, alerts: int) -> list[str]:
    """``people`` joined people and ``alerts`` alert messages to them in random order; the texts."""
    rng = random.Random(2027)
    async with db.uow() as uow:
        rows = [Person(code=f"B{i:05d}", name=f"干部{i}", telegram_user_id=USER0 + i, language=rng.choice(["zh", "en"]),
                       joined_at=clock.now(), created_at=clock.now()) for i in range(people)]
        uow.session.add_all(rows)
        await uow.commit()
    texts = []
    for start in range(0, alerts, 1000):
        async with db.uow() as uow:
            for i in range(start, min(start + 1000, alerts)):
                person = rows[rng.randrange(people)]
                text = f"⚠️ 预警 #{i}: 目标 T{i % 97:03d} 进度落后于时序 {rng.randint(5, 40)}%，请于本周内报送。"
                await outbox.enqueue_to_person(uow.session, clock, person, text=text, kind="alerts")
                texts.append(text)
            await uow.commit()
    return texts


async def pending(db: Database) -> int:
    async with db.uow() as uow:
        n = await uow.session.exec(select(func.count()).where(OutboxMessage.status == OutboxStatus.PENDING))
        return int(n.one())


async def run(args: argparse.Namespace) -> dict[str, float]:
    db_url, cleanup = await prepare_database(args.database_url)
    scale = args.scale
    fake = FloodFake(scale)
    await fake.start()
    dbs: list[Database] = []
    bots: list[ExtBot] = []
    workers: list[DeliveryWorker] = []
    try:
        clock = ScaledClock(scale)
        main_db = Database(db_url)
        dbs.append(main_db)
        texts = await seed(main_db, clock, args.people, args.alerts)
        share = args.rate / args.workers
        for n in range(args.workers):
            db = main_db if n == 0 else Database(db_url)
            if n:
                dbs.append(db)
            # Telegram's 30/s, scaled: AIORateLimiter's bucket of 30 refills every 1/scale s.
            limiter = RateLimiter(overall_time_period=1 / scale, max_retries=3)
            bot = ExtBot(fake.token, base_url=fake.base_url, rate_limiter=limiter,
                         request=HTTPXRequest(connection_pool_size=256))
            await bot.initialize()
            bots.append(bot)
            workers.append(DeliveryWorker(
                bot, db, clock, interval=0.2 / scale, per_chat_interval=1 / scale, rate=share * scale,
                bucket=TokenBucket(share * scale, burst=share / 4),
                owner=f"bench-{n}",
            ))
        started = time.monotonic()
        for worker in workers:
            worker.start()
        ideal = args.alerts / args.rate / scale  # wall seconds at exactly the outbox rate
        with contextlib.suppress(AssertionError):  # the deadline: reported as still pending
            await fake.wait_until(lambda: len(fake.delivered) >= len(texts), timeout=3 * ideal + 30)
        for worker in workers:
            await worker.stop()
        finished = max(t for t, _ in fake.accepted) if fake.accepted else time.monotonic()
        counts = Counter(text for _, text in fake.accepted)
        elapsed = (finished - started) * scale  # scaled seconds
        return {
            "scale": scale,
            "workers": args.workers,
            "alerts": args.alerts,
            "people": args.people,
            "rate": args.rate,
            "elapsed_scaled_s": elapsed,
            "wall_s": finished - started,
            "delivered": sum(1 for t in texts if counts[t]),
            "delivered_per_s": len(counts) / elapsed if elapsed else 0.0,
            "requests": fake.attempts,
            "too_many": fake.too_many.total(),
            "too_many_overall": fake.too_many["overall"],
            "too_many_chat": fake.too_many["chat"],
            "lost": sum(1 for t in texts if not counts[t]),
            "duplicated": sum(1 for t in texts if counts[t] > 1),
            "still_pending": await pending(main_db),
        }
    finally:
        for worker in workers:
            await worker.stop()
        for bot in bots:
            await bot.shutdown()
        for db in dbs:
            await db.dispose()
        await fake.stop()
        await drop_database(cleanup)


def report(r: dict[str, float]) -> None:
    fraction = r["delivered_per_s"] / r["rate"]
    share_429 = r["too_many"] / r["requests"] if r["requests"] else 0.0
    print(f"time scale x{r['scale']:g}: 1 s of Telegram time = {1 / r['scale']:.3f} s wall "
          f"(run: {r['wall_s']:.1f} s wall, {r['elapsed_scaled_s']:.0f} s scaled)")
    print(f"{r['alerts']} alerts to {r['people']} people, {r['workers']} worker(s), "
          f"outbox rate {r['rate']:g}/s, fake limits 30/s overall and 1/s per chat")
    print(f"delivered      {r['delivered']} ({r['delivered_per_s']:.2f}/s = {fraction:.1%} of the outbox rate; "
          f"goal >= 95%) {'OK' if fraction >= 0.95 else 'MISSED'}")
    print(f"429 answers    {r['too_many']} of {r['requests']} requests = {share_429:.2%} (goal <= 1%) "
          f"{'OK' if share_429 <= 0.01 else 'MISSED'}; over 30/s: {r['too_many_overall']}, "
          f"over 1/s per chat: {r['too_many_chat']}")
    print(f"lost           {r['lost']} (goal 0) {'OK' if r['lost'] == 0 else 'MISSED'}")
    print(f"duplicated     {r['duplicated']} (goal 0) {'OK' if r['duplicated'] == 0 else 'MISSED'}")
    if r["still_pending"]:
        print(f"still pending  {r['still_pending']} (the run hit its deadline)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench.alert_delivery", description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=5.0, help="time-scale factor of the fake and the worker")
    p.add_argument("--alerts", type=int, default=10_000)
    p.add_argument("--people", type=int, default=2_000)
    p.add_argument("--rate", type=float, default=20.0, help="the configured outbox rate (messages/s)")
    p.add_argument("--database-url", help="postgresql+asyncpg://... server for a fresh database (default SQLite)")
    p.add_argument("--workers", type=int, default=1, help="delivery workers (PostgreSQL only for more than 1)")
    args = p.parse_args(argv)
    if args.workers > 1 and not args.database_url:
        p.error("several workers need PostgreSQL (--database-url)")
    return args


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.ERROR)
    report(asyncio.run(run(parse_args(argv))))


if __name__ == "__main__":
    main()
