"""What handlers and jobs need, carried as PTB's typed ``bot_data`` (ContextTypes(bot_data=Deps)).

It lives on the handlers' side so that nothing in handlers/ imports bot/: bot/app/build.py fills it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
        # The scheduler, for /healthz: when (time.monotonic()) it was started and last ticked.
        self.scheduler_started: float | None = None
        self.last_tick: float | None = None


Context = CallbackContext[ExtBot[None], dict, dict, Deps]
