"""Building the PTB Application: one place for settings, dependencies and the handler registry."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    Defaults,
)

from bot import logs, metrics
from bot.app import jobs
from bot.app.delivery import DeliveryWorker
from bot.app.persistence import DbPersistence
from bot.app.processor import PerChatUpdateProcessor, instrument_handlers
from bot.app.ratelimit import RateLimiter
from bot.app.throttle import UserThrottle
from config.settings import Settings
from handlers import registry
from handlers.context import Deps
from handlers.menu import publish_public_menu
from models.db import Database
from services.assessment import survey_keys
from services.core import kv, updates
from services.core.clock import Clock
from services.core.storage import LocalStorage

log = logging.getLogger(__name__)


def build_application(
    settings: Settings, db: Database, clock: Clock, *, bot_username: str | None = None, webhook: bool = False,
    county: str | None = None,
) -> Application:
    """The bot for one county: polling by default (the caller starts the updater); ``webhook``: no
    updater, updates arrive on ``app.update_queue`` (bot/serve/web.py). ``county``: the label of its
    metrics and log lines (default "default")."""
    county = county or metrics.DEFAULT_COUNTY
    token = settings.require_token()
    logs.add_secret(token)
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.bot_api_base_url)
        .base_file_url(settings.bot_api_file_url)
        .defaults(Defaults(tzinfo=settings.tz))
        .context_types(ContextTypes(bot_data=Deps))
        .rate_limiter(RateLimiter(max_retries=3, county=county))
        .concurrent_updates(PerChatUpdateProcessor(
            settings.concurrent_updates, county=county, throttle=UserThrottle(settings.user_rate, settings.user_burst)))
        .persistence(DbPersistence(db, clock))
    )
    if webhook:
        builder = builder.updater(None)
    app = builder.build()
    deps: Deps = app.bot_data
    deps.county = county
    deps.settings = settings
    deps.db = db
    deps.clock = clock
    deps.storage = LocalStorage(settings.evidence_dir)
    deps.bot_username = bot_username or settings.bot_username
    deps.strangers.seconds = settings.stranger_reply_interval
    deps.delivery = DeliveryWorker(
        app.bot, db, clock, interval=settings.delivery_interval, per_chat_interval=settings.per_chat_interval,
        max_attempts=settings.delivery_max_attempts, rate=settings.outbox_rate, county=county,
    )
    registry.register(app)
    instrument_handlers(app)  # last: every handler's update line and metrics name it
    return app


async def on_start(app: Application) -> None:
    """After initialize(): learn the username, publish the menu, forget old update ids, start delivery."""
    deps: Deps = app.bot_data
    if deps.bot_username is None:
        deps.bot_username = app.bot.username
        await kv.put(kv.BOT_USERNAME, app.bot.username, uow=deps.db.uow(), clock=deps.clock)
    await publish_public_menu(app.bot, deps.settings.locale)
    keys = await survey_keys.prepare(deps.settings.survey_key, uow=deps.db.uow(), clock=deps.clock)
    if keys.state == "rekeyed":
        log.info("the survey's %s stored answers are now keyed with DUBAN_SURVEY_SECRET", keys.rekeyed)
    elif keys.state == "mismatch":
        log.error("DUBAN_SURVEY_SECRET is not the secret the survey's answers are keyed with: the survey is closed "
                  "until that one is set again")
    elif keys.state == "missing":
        log.warning("DUBAN_SURVEY_SECRET is not set: nobody can answer the public survey")
    pruned = await updates.prune(uow=deps.db.uow(), clock=deps.clock,
                                 keep=timedelta(days=deps.settings.handled_update_retention_days))
    if pruned:
        log.info("forgot %s handled update ids", pruned)
    deps.delivery.start()
    jobs.schedule(app, deps.settings)


async def on_stop(app: Application) -> None:
    deps: Deps = app.bot_data
    await deps.delivery.stop()


async def start_polling(app: Application, *, poll_timeout: int = 10) -> None:
    """Start one county's bot polling (the zero-setup mode)."""
    await app.initialize()
    await on_start(app)
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=poll_timeout, allowed_updates=Update.ALL_TYPES)


async def start_webhook(app: Application, *, url: str, secret: str) -> None:
    """Start one county's bot in webhook mode (built with ``webhook=True`` and already mounted on a
    ``bot.serve.web.WebServer``), then tell Telegram where to send its updates. Updates that waited at
    Telegram while we were away are delivered (``drop_pending_updates=False``)."""
    logs.add_secret(secret)
    await app.initialize()
    await on_start(app)
    await app.start()
    await app.bot.set_webhook(url, secret_token=secret, allowed_updates=Update.ALL_TYPES,
                              drop_pending_updates=False)
    log.info("webhook set", extra={"county": app.bot_data.county})


async def stop(app: Application) -> None:
    """A clean stop: confirm what was handled, drain, close. (Webhook mode leaves the webhook set:
    Telegram keeps the updates that come meanwhile, up to 24 hours, and delivers them when we are
    back; switching to polling deletes it.)"""
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await on_stop(app)
    await app.shutdown()
