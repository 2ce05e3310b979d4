"""The delivery worker: the only code that sends the outbox's messages to Telegram.

It leases due rows (services/core/outbox.py: at most one per chat, the chat's oldest pending row; the
lease committed before anything is sent), sends each with no transaction open, and records the
outcome: sent (with Telegram's message id), retried on 429 after ``retry_after`` and on
5xx/timeouts with backoff, the person marked unreachable (and the admins told) on 403, given up on
400. About a second's worth of rows is in flight at a time; the next lease is taken as they finish.

Pacing: the outbox ``rate`` (a token bucket, 20/s by default, leaving room for replies under
Telegram's ~30/s), then ``per_chat_interval`` between two messages to one chat (a chat still cooling
down is not leased), then PTB's AIORateLimiter for the bot as a whole. On PostgreSQL several workers
may run (each with its own owner id; give each its share of the rate); on SQLite run one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError

from bot import metrics
from bot.app.ratelimit import NO_RETRY, TokenBucket
from models.db import Database
from services.core import outbox
from services.core.clock import Clock
from services.inspection import groups

log = logging.getLogger(__name__)

DEFAULT_RATE = 20.0  # Settings.outbox_rate's default


def default_owner() -> str:
    """A lease owner id unique to this worker: host, process and a random part."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class DeliveryWorker:
    def __init__(
        self, bot: Bot, db: Database, clock: Clock, *, interval: float = 1.0, per_chat_interval: float = 1.0,
        max_attempts: int = 8, rate: float = DEFAULT_RATE, owner: str | None = None, batch_size: int | None = None,
        send_timeout: float | None = None, lease: timedelta = outbox.LEASE, stop_grace: float = 5.0,
        bucket: TokenBucket | None = None, monotonic: Callable[[], float] = time.monotonic,
        county: str = metrics.DEFAULT_COUNTY,
    ) -> None:
        self.county = county
        self.bot = bot
        self.db = db
        self.clock = clock
        self.interval = interval
        self.per_chat_interval = per_chat_interval
        self.max_attempts = max_attempts
        self.owner = (owner or default_owner())[:64]
        self.bucket = bucket or TokenBucket(rate, now=monotonic)
        # About one second of sending in flight; refill when half of it is done.
        self.batch_size = batch_size or max(1, math.ceil(self.bucket.rate))
        self._refill_at = max(1, self.batch_size // 2)
        self.send_timeout = send_timeout
        self.lease = lease
        self.stop_grace = stop_grace
        self._monotonic = monotonic
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._wakes = 0  # wake() calls: a lease that began before the last one cannot prove idleness
        self._inflight: set[asyncio.Task[None]] = set()
        self._last_sent: dict[int, float] = {}  # chat id -> when its last request ended (monotonic)
        # This worker's writes go one at a time (SQLite has one writer; waiting on its busy handler
        # is slow), and the "sent" marks of many rows share one transaction (group commit).
        self._db_lock = asyncio.Lock()
        self._marks: list[tuple[int, int, asyncio.Future[None]]] = []
        self._marker: asyncio.Task[None] | None = None
        self.sent_count = 0
        self.rate_limited_count = 0
        self.error_count = 0

    # ------------------------------------------------------------------ control
    def wake(self) -> None:
        """Look at the outbox now instead of at the next interval."""
        self._wakes += 1
        self._idle.clear()
        self._wake.set()

    async def settle(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wake the worker and wait until nothing is in flight and a lease finds nothing due
        (tests, clean shutdown)."""
        self.wake()
        await asyncio.wait_for(self._idle.wait(), timeout)

    @property
    def running(self) -> bool:
        """The worker's loop is alive (for /healthz)."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"duban-delivery-{self.owner}")

    async def stop(self) -> None:
        """Lease nothing more; let the rows in flight finish for up to ``stop_grace`` seconds. Rows
        not yet sent when cancelled are handed back; rows cancelled mid-request keep their lease."""
        task, self._task = self._task, None
        if task is not None:
            # Let the loop leave at its next wait rather than cancel it inside a database call.
            self._stopping = True
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(task), 10.0)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            finally:
                self._stopping = False
        if self._inflight:
            _, late = await asyncio.wait(set(self._inflight), timeout=self.stop_grace)
            for t in late:
                t.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._marker is not None:
            await asyncio.gather(self._marker, return_exceptions=True)

    # ------------------------------------------------------------------ the loop
    async def _run(self) -> None:
        woken = True
        while not self._stopping:
            room = self.batch_size - len(self._inflight)
            if room > 0 and (woken or room >= self._refill_at):
                cooling = self._cooling()
                wakes = self._wakes
                try:
                    leased = await self._lease_and_start(room, cooling)
                except asyncio.CancelledError:
                    raise
                except Exception:  # the worker must survive a database hiccup
                    log.exception("outbox lease failed")
                    leased = -1  # not idle: try again after the interval
                # Idle: nothing due, nothing in flight, no chat left out for pacing, and no wake()
                # (e.g. after the clock moved or a row was queued) while the lease looked.
                if not leased and not self._inflight and not cooling and wakes == self._wakes:
                    self._idle.set()
            if not self._stopping:
                woken = await self._wait()

    async def _lease_and_start(self, limit: int, cooling: list[int]) -> int:
        if not await outbox.any_due(uow=self.db.read_uow(), clock=self.clock):
            return 0
        async with self._db_lock:
            batch = await outbox.lease_due(uow=self.db.uow(), clock=self.clock, owner=self.owner, limit=limit,
                                           skip_chats=cooling, lease=self.lease)
        for row in batch:
            task = asyncio.create_task(self._deliver(row), name=f"duban-outbox-{row.id}")
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        return len(batch)

    async def _wait(self) -> bool:
        """Until a row in flight finishes, wake() or a timeout (the interval, or the end of a chat's
        cooling down); True if wake() was called."""
        timeout = self.interval
        cooling = self._cooling()
        if cooling and self.per_chat_interval > 0:
            soonest = min(self._last_sent[c] for c in cooling) + self.per_chat_interval
            timeout = min(timeout, max(0.0, soonest - self._monotonic()))
        waiter = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({waiter, *self._inflight}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        woken = self._wake.is_set()
        self._wake.clear()
        return woken

    async def deliver_once(self) -> int:
        """Lease what is due now (up to one batch), send it and wait; returns how many rows."""
        async with self._db_lock:
            batch = await outbox.lease_due(uow=self.db.uow(), clock=self.clock, owner=self.owner,
                                           limit=self.batch_size, skip_chats=self._cooling(), lease=self.lease)
        if batch:
            await asyncio.gather(*(self._deliver(row) for row in batch))
        return len(batch)

    # ------------------------------------------------------------------ pacing
    def _cooling(self) -> list[int]:
        """Chats sent to less than ``per_chat_interval`` ago (forgetting the others)."""
        if self.per_chat_interval <= 0:
            self._last_sent.clear()
            return []
        now = self._monotonic()
        for chat in [c for c, t in self._last_sent.items() if now - t >= self.per_chat_interval]:
            del self._last_sent[chat]
        return list(self._last_sent)

    async def _pace(self, chat_id: int) -> None:
        last = self._last_sent.get(chat_id)  # (rare: a cooling chat is not leased)
        if last is not None and self.per_chat_interval > 0:
            wait = self.per_chat_interval - (self._monotonic() - last)
            if wait > 0:
                await asyncio.sleep(wait)
        await self.bucket.acquire()

    # ------------------------------------------------------------------ one row
    async def _deliver(self, row: outbox.Delivery) -> None:
        try:
            await self._pace(row.chat_id)
        except asyncio.CancelledError:  # stopping before the request: hand the row back
            with contextlib.suppress(Exception):
                async with self._db_lock:
                    await outbox.release(row.id, owner=self.owner, uow=self.db.uow())
            raise
        try:
            await self._send(row)
        except asyncio.CancelledError:
            raise
        except Exception:  # recording the outcome failed: the lease expires and the row is tried again
            log.exception("outbox %s: delivery failed", row.id)

    async def _send(self, row: outbox.Delivery) -> None:
        uow = self.db.uow
        timeouts: dict[str, Any] = {}
        if self.send_timeout is not None:
            timeouts = {"read_timeout": self.send_timeout, "write_timeout": self.send_timeout}
        try:
            message = await self.bot.send_message(
                chat_id=row.chat_id,
                text=row.text,
                parse_mode=row.parse_mode,
                reply_markup=InlineKeyboardMarkup.de_json(row.reply_markup, self.bot) if row.reply_markup else None,
                rate_limit_args=NO_RETRY,  # type: ignore[call-arg]  # we retry ourselves, not blocking others
                **timeouts,
            )
        except RetryAfter as exc:
            after = exc.retry_after if isinstance(exc.retry_after, timedelta) else timedelta(seconds=exc.retry_after)
            log.warning("outbox %s: 429, retry after %s", row.id, after)
            self.rate_limited_count += 1
            metrics.OUTBOX_FAILED.labels(self.county, "retry").inc()
            async with self._db_lock:
                await outbox.retry_later(row.id, owner=self.owner, uow=uow(), clock=self.clock, error=str(exc),
                                         after=after, attempts=row.attempts, max_attempts=self.max_attempts)
            return
        except Forbidden as exc:
            log.info("outbox %s: chat %s blocked the bot", row.id, row.chat_id)
            self.error_count += 1
            metrics.OUTBOX_FAILED.labels(self.county, "blocked").inc()
            async with self._db_lock:
                told = await outbox.mark_unreachable(row.chat_id, uow=uow(), clock=self.clock, error=str(exc))
            if told:
                self.wake()  # the admins' notices are due now
            return
        except ChatMigrated as exc:  # the group became a supergroup: send there (the row included)
            log.info("outbox %s: chat %s moved to %s", row.id, row.chat_id, exc.new_chat_id)
            async with self._db_lock:
                await groups.follow(row.chat_id, exc.new_chat_id, uow=uow(), clock=self.clock)
            self.wake()
            return
        except BadRequest as exc:
            log.error("outbox %s: refused by Telegram: %s", row.id, exc)
            self.error_count += 1
            metrics.OUTBOX_FAILED.labels(self.county, "refused").inc()
            async with self._db_lock:
                await outbox.give_up(row.id, owner=self.owner, uow=uow(), error=str(exc))
            return
        except (NetworkError, TelegramError) as exc:  # 5xx, timeouts, connection errors
            log.warning("outbox %s: attempt %s failed: %s", row.id, row.attempts, exc)
            self.error_count += 1
            metrics.OUTBOX_FAILED.labels(self.county, "retry").inc()
            async with self._db_lock:
                await outbox.retry_later(row.id, owner=self.owner, uow=uow(), clock=self.clock, error=str(exc),
                                         attempts=row.attempts, max_attempts=self.max_attempts)
            return
        finally:
            if self.per_chat_interval > 0:
                self._last_sent[row.chat_id] = self._monotonic()
        await self._mark_sent(row.id, message.message_id)
        self.sent_count += 1
        metrics.OUTBOX_SENT.labels(self.county).inc()

    async def _mark_sent(self, row_id: int, message_id: int) -> None:
        """Record a sent row; returns once committed (with the marks that came in meanwhile)."""
        done = asyncio.get_running_loop().create_future()
        self._marks.append((row_id, message_id, done))
        if self._marker is None or self._marker.done():
            self._marker = asyncio.create_task(self._write_marks(), name=f"duban-outbox-marks-{self.owner}")
        await done

    async def _write_marks(self) -> None:
        while self._marks:
            batch, self._marks = self._marks, []
            error: Exception | None = None
            for pause in (0.1, 0.5, 2.0, None):  # a message was sent: try hard to record it
                try:
                    async with self._db_lock:
                        await outbox.mark_sent_many([(r, m) for r, m, _ in batch], uow=self.db.uow(),
                                                    clock=self.clock)
                    error = None
                    break
                except Exception as exc:
                    error = exc
                    if pause is not None:
                        log.warning("outbox: recording %s sent rows failed, retrying: %s", len(batch), exc)
                        await asyncio.sleep(pause)
            for *_, done in batch:
                if not done.done():
                    if error is None:
                        done.set_result(None)
                    else:
                        done.set_exception(error)
