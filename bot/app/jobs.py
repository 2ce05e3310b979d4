"""The one repeating job: a scheduler tick that derives what is due from the database."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from telegram.ext import Application, ContextTypes

from bot import metrics
from config.settings import Settings
from models.db import Database
from services.alerts import tick
from services.core import updates
from services.core.clock import Clock
from services.progress import portfolio

log = logging.getLogger(__name__)


def rules(settings: Settings) -> tick.Rules:
    return tick.Rules(quiet_start=settings.quiet_start, quiet_end=settings.quiet_end,
                        ack_timeout_working_days=settings.ack_timeout_working_days)


async def tick_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    d = context.bot_data
    started = time.monotonic()
    d.last_tick = started
    # Lag: how long after its scheduled instant this run began (a busy event loop, or a previous
    # tick that overran, shows here). APScheduler has already moved next_run_time one interval on.
    job = getattr(context.job, "job", None)
    next_run = getattr(job, "next_run_time", None)
    if next_run is not None:
        scheduled = next_run.timestamp() - d.settings.tick_interval
        metrics.TICK_LAG.labels(d.county).set(max(0.0, time.time() - scheduled))
    now = d.clock.now()
    result, digests = await scheduled_work(now, db=d.db, settings=d.settings, clock=d.clock)
    # The set of handled update ids only needs the last days (Telegram redelivers for 24 hours).
    await updates.prune(uow=d.db.uow(), clock=d.clock, keep=timedelta(days=d.settings.handled_update_retention_days))
    for level, n in result.created_by_level.items():
        metrics.ALERTS_CREATED.labels(d.county, level).inc(n)
    if result.outbox_rows or digests:
        log.info("tick: %s alerts, %s escalated, %s messages, %s weekly digests", result.alerts_created,
                 result.escalated, result.outbox_rows, digests)
        d.delivery.wake()
    d.last_tick = time.monotonic()
    metrics.TICK_LAST.labels(d.county).set(time.time())
    metrics.TICK_DURATION.labels(d.county).observe(d.last_tick - started)


async def scheduled_work(
    moment: datetime, *, db: Database, settings: Settings, clock: Clock
) -> tuple[tick.TickResult, int]:
    """Everything the scheduler does at ``moment``: reminders, alerts, escalation, then the leaders'
    Monday digest (once per ISO week). The running bot and ``duban jobs tick`` both call this."""
    result = await tick.tick(moment, uow=db.uow(), rules=rules(settings))
    digests = await portfolio.weekly_digest(moment, uow=db.uow(), clock=clock)
    return result, digests


def schedule(app: Application, settings: Settings) -> None:
    """Every ``DUBAN_TICK_INTERVAL`` seconds (0: off); a late or missed tick is simply run late."""
    if settings.tick_interval <= 0 or app.job_queue is None:
        return
    app.bot_data.scheduler_started = time.monotonic()
    app.job_queue.run_repeating(
        tick_job, interval=settings.tick_interval, first=1.0, name="tick",
        job_kwargs={"misfire_grace_time": 3600, "coalesce": True, "max_instances": 1},
    )
