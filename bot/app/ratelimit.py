"""Rate limits for what the bot sends.

``RateLimiter`` is PTB's AIORateLimiter (30 msg/s overall, 20/min per group; build it with
``max_retries`` so a reply that meets a 429 waits ``retry_after`` and tries again), with one fix for
the outbox: the delivery worker wants the overall pacing but handles 429 itself (it reschedules the
row and moves on to other chats). ``AIORateLimiter`` reads ``rate_limit_args=0`` as "use the
default", so ``NO_RETRY`` marks such requests here: paced like any other, a RetryAfter raised at once.

``TokenBucket`` paces the outbox below Telegram's overall limit (the configured outbox rate, 20/s by
default), leaving room for replies to users; AIORateLimiter still caps both together at 30/s. It also
meters each user's updates (bot/app/throttle.py), without waiting: ``try_acquire``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter

from bot import metrics

NO_RETRY = -1


class RateLimiter(AIORateLimiter):
    """Also counts every 429 answer (``duban_telegram_429_total{county}``), retried or not."""

    def __init__(self, *args: Any, county: str = metrics.DEFAULT_COUNTY, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._county = county

    async def _run_request(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        try:
            return await super()._run_request(*args, **kwargs)
        except RetryAfter:
            metrics.TELEGRAM_429.labels(self._county).inc()
            raise

    async def process_request(  # type: ignore[override]
        self, callback: Any, args: Any, kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        if rate_limit_args != NO_RETRY:
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        chat_id = data.get("chat_id")
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)  # type: ignore[arg-type]
        group = chat_id if (isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str) else False
        return await self._run_request(
            chat=chat_id is not None, group=group, allow_paid_broadcast=False, callback=callback, args=args,
            kwargs=kwargs,
        )


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; ``acquire()`` waits for one.

    Waiters queue on a lock (first come, first served) and the one at the front takes a token only
    once it is there by the clock, so the starts of any window of ``w`` seconds are at most
    ``burst + rate * w``, even if the event loop stalled: tokens do not pile up beyond ``burst``, so a
    stall does not release a crowd of late requests at once. ``now`` and ``sleep`` are injectable
    (tests, benchmarks).
    """

    def __init__(
        self, rate: float, burst: float | None = None, *, now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        # A quarter of a second's worth: 20/s bursts to 5, so outbox + burst stay well under 30/s.
        self.burst = max(1.0, burst if burst is not None else rate / 4)
        self._now = now
        self._sleep = sleep
        self._level = self.burst
        self._stamp: float | None = None
        self._lock = asyncio.Lock()

    def _take(self) -> float:
        """Take a token if there is one (0.0); else how long until there is."""
        now = self._now()
        if self._stamp is not None:
            self._level = min(self.burst, self._level + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._level >= 1 - 1e-9:  # (float rounding: do not wait for a billionth of a token)
            self._level -= 1
            return 0.0
        return (1 - self._level) / self.rate

    async def acquire(self) -> None:
        async with self._lock:
            while (wait := self._take()) > 0:
                await self._sleep(wait)

    def try_acquire(self) -> bool:
        """Take a token if there is one now, without waiting (bot/app/throttle.py: what finds none is
        dropped). Not for a bucket that others ``acquire()`` from at the same time."""
        return self._take() == 0.0

    def full(self) -> bool:
        """Whether the bucket has refilled to ``burst`` (an idle bucket: forgetting it changes nothing)."""
        if self._stamp is None:
            return True
        return self._level + (self._now() - self._stamp) * self.rate >= self.burst
