"""Updates of different chats run concurrently; the updates of one chat run one at a time, in order.

Fairness: an update first waits for its chat's turn (one lock per chat, in arrival order) and only then
for one of the ``slots`` processing slots (DUBAN_CONCURRENT_UPDATES). PTB's own semaphore, which
``BaseUpdateProcessor.process_update`` takes *before* calling us, is made too large to ever be the one
waited on: otherwise a burst from one chat fills every slot with updates that merely wait for their
own chat, and every other chat waits behind them. So one chat holds at most one slot, whatever it sends.

Before either, the per-user throttle (bot/app/throttle.py) drops what a person sends beyond their
bucket, with no database work (one "too fast" line a minute, config/locales/*/limits.po).

This is also where every update is measured: one log line (bot/logs.py) and the update metrics
(bot/metrics.py) per update, with the handler that ran -- recorded by the wrappers that
``instrument_handlers`` puts around every handler callback of the Application. A webhook request
may wait here for its update to be handled (``handled(update_id)``) so that Telegram redelivers
an update whose process died before handling it; a dropped update counts as handled there.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, BaseHandler, BaseUpdateProcessor, ConversationHandler

from bot import logs, metrics
from bot.app.throttle import UserThrottle, sender
from config.i18n import normalise_language, t
from services.core import updates

log = logging.getLogger(__name__)

# The handlers that ran for the update being processed, and whether one failed: set per update.
_TRACE: contextvars.ContextVar[_Trace | None] = contextvars.ContextVar("duban_update_trace", default=None)
# The gate's handlers: they run for every update, so they name the update only when they stopped it.
GATE = ("guard.before", "guard.after")


class _Trace:
    __slots__ = ("error", "ran", "stopped_by")

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.error = False
        self.stopped_by: str | None = None

    def outcome(self) -> tuple[str, str]:
        """(handler, outcome) for the log line and the metrics."""
        features = [name for name in self.ran if name not in GATE]
        name = features[0] if features else (self.stopped_by or "none")
        if self.error:
            return name, "error"
        if self.stopped_by is not None and not features:
            return name, "stopped"
        return name, "ok" if features else "unhandled"


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """One lock per chat (``concurrent_updates(True)`` alone would let a chat's messages race), then one
    of ``max_concurrent_updates`` slots; see the module docstring."""

    # PTB's semaphore, taken before do_process_update: never the one that makes an update wait.
    UNBOUNDED = 1 << 30

    def __init__(self, max_concurrent_updates: int = 64, *, county: str = metrics.DEFAULT_COUNTY,
                 throttle: UserThrottle | None = None) -> None:
        super().__init__(self.UNBOUNDED)
        self.county = county
        self.slots = max_concurrent_updates
        self.throttle = throttle
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}
        self._waiters: dict[int, list[asyncio.Future[None]]] = {}

    def handled(self, update_id: int) -> asyncio.Future[None]:
        """A future resolved once the update with this id has been processed (whatever the outcome)."""
        future = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(update_id, []).append(future)
        return future

    def forget(self, update_id: int, future: asyncio.Future[None]) -> None:
        waiting = self._waiters.get(update_id)
        if waiting and future in waiting:
            waiting.remove(future)
            if not waiting:
                del self._waiters[update_id]

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        metrics.UPDATES_RECEIVED.labels(self.county).inc()
        try:
            metered = sender(update) if self.throttle is not None else None
            if metered is not None and self.throttle is not None and not self.throttle.allow(*metered):
                if inspect.iscoroutine(coroutine):
                    coroutine.close()  # never run: nothing of it happens, not even its persistence mark
                await self._dropped(update, metered[0])
                return
            chat_id = _chat_key(update)
            if chat_id is None:
                await self._in_slot(update, coroutine)
                return
            lock = self._locks.setdefault(chat_id, asyncio.Lock())
            self._users[chat_id] = self._users.get(chat_id, 0) + 1
            try:
                async with lock:  # the chat's turn first, without holding a slot meanwhile
                    await self._in_slot(update, coroutine)
            finally:
                self._users[chat_id] -= 1
                if self._users[chat_id] == 0:
                    del self._users[chat_id]
                    self._locks.pop(chat_id, None)
        finally:
            if isinstance(update, Update):
                for future in self._waiters.pop(update.update_id, []):
                    if not future.done():
                        future.set_result(None)

    async def _in_slot(self, update: object, coroutine: Awaitable[Any]) -> None:
        async with self._slots:
            await self._measured(update, coroutine)

    async def _dropped(self, update: object, user_id: int) -> None:
        """Count a dropped update; tell its sender once a minute (a reply, or a button's answer)."""
        metrics.UPDATES_DROPPED.labels(self.county, "throttled").inc()
        assert self.throttle is not None and isinstance(update, Update)
        if not self.throttle.notices.due(user_id):
            return
        log.warning("user %s sends faster than %s updates/s (burst %s): their updates are dropped for now",
                    user_id, self.throttle.rate, self.throttle.burst, extra={"county": self.county})
        user = update.effective_user
        text = t("limits.too_fast", normalise_language(user.language_code if user is not None else None))
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(text)
            elif update.effective_chat is not None:
                await update.get_bot().send_message(update.effective_chat.id, text)
        except Exception as exc:  # blocked, network: the update stays dropped all the same
            log.info("the too-fast notice to user %s was not sent: %s", user_id, type(exc).__name__,
                     extra={"county": self.county})

    async def _measured(self, update: object, coroutine: Awaitable[Any]) -> None:
        trace = _Trace()
        token = _TRACE.set(trace)
        started = time.perf_counter()
        try:
            with updates.tracking():  # what the update's transactions commit (services/core/updates.py)
                await coroutine
        except BaseException:
            trace.error = True
            raise
        finally:
            _TRACE.reset(token)
            duration = time.perf_counter() - started
            name, outcome = trace.outcome()
            metrics.UPDATES_HANDLED.labels(self.county, name, outcome).inc()
            metrics.UPDATE_DURATION.labels(self.county, name).observe(duration)
            update_id = update.update_id if isinstance(update, Update) else None
            logs.log_update(self.county, update_id, _kind(update), name, outcome, duration)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def _chat_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


def _kind(update: object) -> str:
    if not isinstance(update, Update):
        return type(update).__name__
    for name in ("message", "edited_message", "callback_query", "my_chat_member", "chat_member"):
        if getattr(update, name, None) is not None:
            return name
    return "other"


# --- which handler ran ------------------------------------------------------------------------------

def handler_name(callback: Callable[..., Any]) -> str:
    """``<feature module>.<function>``, e.g. ``report.on_value`` (a bounded set: a metrics label)."""
    module = (getattr(callback, "__module__", None) or "?").rsplit(".", 1)[-1]
    return f"{module}.{getattr(callback, '__qualname__', type(callback).__name__)}"


def _traced(callback: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    if getattr(callback, "_duban_traced", False):
        return callback
    name = handler_name(callback)

    @functools.wraps(callback)
    async def traced(update: object, context: Any) -> Any:
        trace = _TRACE.get()
        if trace is not None:
            trace.ran.append(name)
        try:
            return await callback(update, context)
        except ApplicationHandlerStop:
            if trace is not None:
                trace.stopped_by = name
            raise
        except Exception:
            if trace is not None:
                trace.error = True
            raise

    traced._duban_traced = True  # type: ignore[attr-defined]
    return traced


def _instrument(handler: BaseHandler[Any, Any, Any]) -> None:
    if isinstance(handler, ConversationHandler):
        for inner in [*handler.entry_points, *handler.fallbacks,
                      *(h for hs in handler.states.values() for h in hs)]:
            _instrument(inner)
        return
    handler.callback = _traced(handler.callback)


def instrument_handlers(app: Application) -> None:
    """Wrap every handler callback (conversations: their inner handlers) so the update's line and
    metrics name the handler that ran. Call after the last ``add_handler``."""
    for group in app.handlers.values():
        for handler in group:
            _instrument(handler)
