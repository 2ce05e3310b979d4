"""The delivery worker: the only code that sends the outbox's messages to Telegram.

It leases the head row of each chat, sends it, and records the outcome: sent (with Telegram's
message id), retried on 429 after ``retry_after`` and on 5xx/network errors with backoff, the
person marked unreachable on 403, given up on 400.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.ratelimit import NO_RETRY
from models.db import Database
from services import outbox
from services.clock import Clock

log = logging.getLogger(__name__)


class DeliveryWorker:
    def __init__(
        self, bot: Bot, db: Database, clock: Clock, *, interval: float = 1.0, per_chat_interval: float = 1.0,
        max_attempts: int = 8,
    ) -> None:
        self.bot = bot
        self.db = db
        self.clock = clock
        self.interval = interval
        self.per_chat_interval = per_chat_interval
        self.max_attempts = max_attempts
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_sent: dict[int, float] = {}
        self.sent_count = 0

    def wake(self) -> None:
        """Look at the outbox now instead of at the next interval."""
        self._idle.clear()
        self._wake.set()

    async def settle(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wake the worker and wait until a round finds nothing due (tests, clean shutdown)."""
        self.wake()
        await asyncio.wait_for(self._idle.wait(), timeout)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="duban-delivery")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                sent = await self.deliver_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the worker must survive a database hiccup
                log.exception("outbox delivery round failed")
                sent = 0
            if sent:
                continue  # more may be waiting behind what was just sent
            self._idle.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()

    async def deliver_once(self) -> int:
        """Send what is due now; returns how many rows were attempted."""
        batch = await outbox.claim_due(uow=self.db.uow(), clock=self.clock)
        if batch:
            await asyncio.gather(*(self._deliver(row) for row in batch))
        return len(batch)

    async def _pace(self, chat_id: int) -> None:
        last = self._last_sent.get(chat_id)
        if last is not None and self.per_chat_interval > 0:
            wait = self.per_chat_interval - (time.monotonic() - last)
            if wait > 0:
                await asyncio.sleep(wait)

    async def _deliver(self, row: outbox.Delivery) -> None:
        uow = self.db.uow
        await self._pace(row.chat_id)
        try:
            message = await self.bot.send_message(
                chat_id=row.chat_id,
                text=row.text,
                parse_mode=row.parse_mode,
                reply_markup=InlineKeyboardMarkup.de_json(row.reply_markup, self.bot) if row.reply_markup else None,
                rate_limit_args=NO_RETRY,  # we retry ourselves, without blocking other chats
            )
        except RetryAfter as exc:
            after = exc.retry_after if isinstance(exc.retry_after, timedelta) else timedelta(seconds=exc.retry_after)
            log.warning("outbox %s: 429, retry after %s", row.id, after)
            await outbox.retry_later(row.id, uow=uow(), clock=self.clock, error=str(exc), after=after,
                                     attempts=0, max_attempts=0)
            return
        except Forbidden as exc:
            log.info("outbox %s: chat %s blocked the bot", row.id, row.chat_id)
            await outbox.mark_unreachable(row.id, row.chat_id, uow=uow(), clock=self.clock, error=str(exc))
            return
        except BadRequest as exc:
            log.error("outbox %s: refused by Telegram: %s", row.id, exc)
            await outbox.give_up(row.id, uow=uow(), error=str(exc))
            return
        except (NetworkError, TelegramError) as exc:  # 5xx, timeouts, connection errors
            log.warning("outbox %s: attempt %s failed: %s", row.id, row.attempts, exc)
            await outbox.retry_later(row.id, uow=uow(), clock=self.clock, error=str(exc), after=None,
                                     attempts=row.attempts, max_attempts=self.max_attempts)
            return
        finally:
            self._last_sent[row.chat_id] = time.monotonic()
        await outbox.mark_sent(row.id, message.message_id, uow=uow(), clock=self.clock)
        self.sent_count += 1
