"""The one repeating job: a scheduler tick that derives what is due from the database."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram.ext import Application, ContextTypes

from config.settings import Settings
from services import alerts, updates

log = logging.getLogger(__name__)


def rules(settings: Settings) -> alerts.Rules:
    return alerts.Rules(quiet_start=settings.quiet_start, quiet_end=settings.quiet_end,
                        ack_timeout_working_days=settings.ack_timeout_working_days)


async def tick_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    d = context.bot_data
    result = await alerts.tick(d.clock.now(), uow=d.db.uow(), rules=rules(d.settings))
    # The set of handled update ids only needs the last days (Telegram redelivers for 24 hours).
    await updates.prune(uow=d.db.uow(), clock=d.clock, keep=timedelta(days=d.settings.handled_update_retention_days))
    if result.outbox_rows:
        log.info("tick: %s alerts, %s escalated, %s messages", result.alerts_created, result.escalated,
                 result.outbox_rows)
        d.delivery.wake()


def schedule(app: Application, settings: Settings) -> None:
    """Every ``DUBAN_TICK_INTERVAL`` seconds (0: off); a late or missed tick is simply run late."""
    if settings.tick_interval <= 0 or app.job_queue is None:
        return
    app.job_queue.run_repeating(
        tick_job, interval=settings.tick_interval, first=1.0, name="tick",
        job_kwargs={"misfire_grace_time": 3600, "coalesce": True, "max_instances": 1},
    )
