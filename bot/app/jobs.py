"""The one repeating job: a scheduler tick that derives what is due from the database."""

from __future__ import annotations

import logging
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

from telegram.ext import Application, ContextTypes

from bot import metrics
from config.settings import Settings
from models.db import Database
from services.alerts import idle, tick
from services.assessment import survey
from services.core import audit_chain, files, updates
from services.core.clock import Clock
from services.core.storage import LocalStorage
from services.progress import portfolio

log = logging.getLogger(__name__)

# Per database: what the repeating tick remembers of its last run that changed nothing (services/alerts/idle.py).
_memories: weakref.WeakKeyDictionary[Database, idle.Memory] = weakref.WeakKeyDictionary()


def rules(settings: Settings) -> tick.Rules:
    return tick.Rules(quiet_start=settings.quiet_start, quiet_end=settings.quiet_end,
                      ack_timeout_working_days=settings.ack_timeout_working_days,
                      warning_answer_working_days=settings.warning_answer_working_days)


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
    work = await run_scheduled(now, db=d.db, settings=d.settings, clock=d.clock, county=d.county,
                               memory=_memories.setdefault(d.db, idle.Memory()))
    result, digests = work.result, work.digests
    # The set of handled update ids only needs the last days (Telegram redelivers for 24 hours).
    await updates.prune(uow=d.db.uow(), clock=d.clock, keep=timedelta(days=d.settings.handled_update_retention_days))
    for level, n in result.created_by_level.items():
        metrics.ALERTS_CREATED.labels(d.county, level).inc(n)
    if result.outbox_rows or digests:
        log.info("tick: %s alerts, %s escalated, %s messages, %s weekly digests", result.alerts_created,
                 result.escalated, result.outbox_rows, digests)
    if result.outbox_rows or digests or (work.audit_head is not None and work.audit_head.queued):
        d.delivery.wake()
    d.last_tick = time.monotonic()
    metrics.TICK_LAST.labels(d.county).set(time.time())
    metrics.TICK_DURATION.labels(d.county).observe(d.last_tick - started)


@dataclass(frozen=True)
class Scheduled:
    """What one run of the scheduler did."""

    result: tick.TickResult
    digests: int  # leaders queued their weekly digest
    audit_head: audit_chain.HeadPush | None  # the day's audit head, when it went out in this run
    comments_purged: int = 0  # survey comment windows that passed (nothing links an account to an answer)
    evidence_collected: int | None = None  # files nothing refers to, collected at the day's first run


async def run_scheduled(
    moment: datetime, *, db: Database, settings: Settings, clock: Clock, county: str | None = None,
    memory: idle.Memory | None = None,
) -> Scheduled:
    """Everything the scheduler does at ``moment``: reminders, alerts, escalation, the leaders' Monday digest
    (once per ISO week), the audit log's head to the admins (once a day, outside quiet hours), which is
    also written to the log (fields ``audit_day``, ``audit_rows``, ``audit_head``; ``county`` when given),
    the survey's passed comment windows forgotten, and (once a day) evidence nothing refers to collected.
    ``memory``: kept from run to run by the repeating job, so that an idle tick costs two cheap reads."""
    pushes = rules(settings)
    result = await tick.tick(moment, uow=db.uow(), rules=pushes, memory=memory)
    digests = await portfolio.weekly_digest(moment, uow=db.uow(), clock=clock)
    head = await audit_chain.push_daily_head(moment, uow=db.uow(), clock=clock,
                                             quiet=lambda t: tick.in_quiet_hours(t, pushes))
    if head is not None:
        log.info("audit head %s: %s rows, %s (sent to %s admins)", head.day.isoformat(), head.count, head.head,
                 head.queued, extra={"audit_day": head.day.isoformat(), "audit_rows": head.count,
                                     "audit_head": head.head, "audit_admins": head.queued,
                                     **({"county": county} if county else {})})
    purged = await survey.purge_comments(uow=db.uow(), clock=clock)
    collected = await files.collect_orphans_daily(
        moment, storage=LocalStorage(settings.evidence_dir), grace=timedelta(days=settings.evidence_grace_days),
        db_uow=db.uow(), marker_uow=db.uow(), clock=clock)
    if collected:
        log.info("collected %s evidence files nothing refers to", collected)
    return Scheduled(result, digests, head, purged, collected)


async def scheduled_work(
    moment: datetime, *, db: Database, settings: Settings, clock: Clock
) -> tuple[tick.TickResult, int]:
    """``run_scheduled`` for ``duban jobs tick``: the alerts' result and the number of weekly digests."""
    work = await run_scheduled(moment, db=db, settings=settings, clock=clock)
    return work.result, work.digests


def schedule(app: Application, settings: Settings) -> None:
    """Every ``DUBAN_TICK_INTERVAL`` seconds (0: off); a late or missed tick is simply run late."""
    if settings.tick_interval <= 0 or app.job_queue is None:
        return
    app.bot_data.scheduler_started = time.monotonic()
    app.job_queue.run_repeating(
        tick_job, interval=settings.tick_interval, first=1.0, name="tick",
        job_kwargs={"misfire_grace_time": 3600, "coalesce": True, "max_instances": 1},
    )
