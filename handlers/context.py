"""What handlers and jobs need, carried as PTB's typed ``bot_data`` (ContextTypes(bot_data=Deps)).

It lives on the handlers' side so that nothing in handlers/ imports bot/: bot/app/build.py fills it."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import TYPE_CHECKING, Protocol

from telegram import Update
from telegram.ext import CallbackContext, ExtBot

if TYPE_CHECKING:
    from config.settings import Settings
    from models.db import Database
    from services.core.clock import Clock
    from services.core.storage import Storage
    from services.people.viewer import Viewer


class Delivery(Protocol):
    """The outbox's delivery worker (bot/app/delivery.py) as the bot's parts see it."""

    running: bool

    def wake(self) -> None:
        """Look at the outbox now: an update has queued something."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...


class Cooldown:
    """At most one "yes" per key every ``seconds``: ``due(key)`` is true the first time and then again only
    once ``seconds`` have passed. A per-bot memory (nothing shared between counties' bots); a key is
    forgotten once its time is over, and beyond ``limit`` keys the oldest are forgotten first, so a crowd
    of new keys cannot grow it without bound. ``now`` is injectable (tests)."""

    def __init__(self, seconds: float, *, limit: int = 100_000, now: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._limit = limit
        self._now = now
        self._last: OrderedDict[Hashable, float] = OrderedDict()  # oldest first: the order they expire in

    def due(self, key: Hashable) -> bool:
        now = self._now()
        while self._last:
            at = next(iter(self._last.values()))
            if now - at < self.seconds and len(self._last) < self._limit:
                break
            self._last.popitem(last=False)
        if key in self._last:
            return False
        self._last[key] = now
        return True

    def __len__(self) -> int:
        return len(self._last)


class Deps:
    """Filled by ``build_application``; PTB creates it empty, so every field starts unset."""

    settings: Settings
    db: Database
    clock: Clock
    delivery: Delivery
    storage: Storage
    bot_username: str | None = None
    # The county this Application serves: the ``county`` label of its metrics and log lines.
    county: str = "default"

    def __init__(self) -> None:
        # The viewer of each update in flight, looked up once by the gate (handlers/guard.py).
        self.viewers: dict[int, Viewer | None] = {}
        # Updates anyone may send, registered or not (set by handlers/registry.py): each says whether an
        # update of a stranger or a deactivated person is one of its own.
        self.public_updates: tuple[Callable[[Update, Context], Awaitable[bool]], ...] = ()
        # Strangers answered "you are not registered" lately (the gate answers one at most once a
        # DUBAN_STRANGER_REPLY_INTERVAL; build_application sets the interval).
        self.strangers = Cooldown(300.0)
        # The scheduler, for /healthz: when (time.monotonic()) it was started and last ticked.
        self.scheduler_started: float | None = None
        self.last_tick: float | None = None


Context = CallbackContext[ExtBot[None], dict, dict, Deps]
