"""What handlers and jobs need, carried as PTB's typed ``bot_data`` (ContextTypes(bot_data=Deps))."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram.ext import CallbackContext, ExtBot

if TYPE_CHECKING:
    from bot.app.delivery import DeliveryWorker
    from config.settings import Settings
    from models.db import Database
    from services.core.clock import Clock
    from services.core.storage import Storage
    from services.people.viewer import Viewer


class Deps:
    """Filled by ``build_application``; PTB creates it empty, so every field starts unset."""

    settings: Settings
    db: Database
    clock: Clock
    delivery: DeliveryWorker
    storage: Storage
    bot_username: str | None = None
    # The county this Application serves: the ``county`` label of its metrics and log lines.
    county: str = "default"

    def __init__(self) -> None:
        # The viewer of each update in flight, looked up once by the gate (handlers/guard.py).
        self.viewers: dict[int, Viewer | None] = {}
        # The scheduler, for /healthz: when (time.monotonic()) it was started and last ticked.
        self.scheduler_started: float | None = None
        self.last_tick: float | None = None


Context = CallbackContext[ExtBot[None], dict, dict, Deps]
