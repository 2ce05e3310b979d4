"""The checks of ``GET /healthz`` for one county (bot/serve/web.py serves them): its database, scheduler,
outbox worker and the free space of its evidence folder's disk. Each check has ``CHECK_TIMEOUT``
seconds; a failure says only its type (messages may name hosts or users)."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from telegram.ext import Application

from bot import metrics
from config.settings import Settings
from handlers.context import Deps
from services.core import outbox

CHECK_TIMEOUT = 3.0  # seconds for each check of /healthz and /metrics


async def county(app: Application) -> dict[str, Any]:
    """One county's part of the /healthz answer; ``ok`` when its database answers, its scheduler is
    ``ok`` or ``disabled``, its delivery worker runs and its disk has the free space asked for."""
    deps: Deps = app.bot_data
    database, backlog = await _database_and_backlog(deps)
    scheduler, age = _scheduler(app, deps)
    disk, free_mb = await _disk(deps.settings)
    delivery = "running" if deps.delivery.running else "stopped"
    ok = database == "ok" and scheduler in ("ok", "disabled") and delivery == "running" and disk == "ok"
    return {"ok": ok, "database": database, "scheduler": scheduler,
            "last_tick_age_seconds": None if age is None else round(age, 1), "outbox_backlog": backlog,
            "delivery": delivery, "disk": disk, "disk_free_mb": free_mb}


async def _database_and_backlog(deps: Deps) -> tuple[str, int | None]:
    async def select_one() -> None:
        async with deps.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(select_one(), CHECK_TIMEOUT)
        backlog = await asyncio.wait_for(outbox.backlog(uow=deps.db.read_uow()), CHECK_TIMEOUT)
    except TimeoutError:
        return "timeout", None
    except Exception as exc:  # the reason's type only: messages may name hosts or users
        return f"error: {type(exc).__name__}", None
    metrics.OUTBOX_BACKLOG.labels(deps.county).set(backlog)
    return "ok", backlog


async def _disk(settings: Settings) -> tuple[str, int | None]:
    """The free space of the evidence folder's disk (its nearest existing folder: it is made on first
    use): ``ok``, ``low`` (under DUBAN_HEALTH_MIN_FREE_MB), ``timeout`` or ``error: <type>``; and MB free."""
    try:
        free = await asyncio.wait_for(asyncio.to_thread(_free_bytes, settings.evidence_dir), CHECK_TIMEOUT)
    except TimeoutError:
        return "timeout", None
    except OSError as exc:
        return f"error: {type(exc).__name__}", None
    free_mb = free // (1024 * 1024)
    return ("ok" if free_mb >= settings.health_min_free_mb else "low"), free_mb


def _free_bytes(folder: Path) -> int:
    path = folder.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def stale_after(interval: float) -> float:
    """Seconds without a tick after which the scheduler counts as stuck."""
    return max(3 * interval, interval + 30.0)


def _scheduler(app: Application, deps: Deps) -> tuple[str, float | None]:
    interval = deps.settings.tick_interval
    if interval <= 0:
        return "disabled", None
    started = deps.scheduler_started
    queue = app.job_queue
    if started is None or queue is None or not queue.scheduler.running:
        return "stopped", None
    age = time.monotonic() - (deps.last_tick if deps.last_tick is not None else started)
    return ("ok" if age <= stale_after(interval) else "stale"), age
