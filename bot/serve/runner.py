"""Running bots as a service: ``duban run --counties FILE`` serves many counties in one process,
each its own PTB Application on its own database with its own token, and each active in exactly one
process at a time (bot/serve/failover.py); ``duban run`` (one county) goes through the same supervisor.

A county's supervisor: take the county's lock (standby until then, trying every ``RETRY`` seconds,
so a dead holder is replaced within a few seconds) -> migrate its database -> hand back the outbox
leases a dead holder left -> build and start its Application (polling, or a webhook under
``<webhook URL>/<code>``) -> hold. If the lock is lost the county stops at once; if its
Application fails the error is logged, the lock released and a new start tried after a pause. No
county's failure touches another county.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.app.build import build_application, start_polling, start_webhook, stop
from bot.app.identity import known_username
from bot.metrics import DEFAULT_COUNTY
from bot.serve.counties import county_settings, load_counties
from bot.serve.errors import BadWebhookUrl
from bot.serve.failover import acquire_or_stop, lock_for
from bot.serve.web import WebServer, webhook_path, webhook_secret
from config.settings import Settings
from models.db import Database
from models.migrate import upgrade
from services.core.clock import Clock, SystemClock
from services.core.takeover import release_orphaned_leases

log = logging.getLogger("duban.service")

RETRY = 2.0  # seconds between two tries of a standby (takeover well within 10 s)
CRASH_PAUSES = (5.0, 10.0, 30.0, 60.0)  # before restarting a county whose Application failed
HEALTHY_AFTER = 120.0  # a run this long resets the pauses
STOP_TIMEOUT = 30.0


@dataclass
class Webhook:
    """Where a county's updates arrive in webhook mode (the shared server of bot/serve/web.py)."""

    server: Any
    url: str  # the public URL of this county's webhook
    path: str  # the local path it is served at
    secret: str


@dataclass
class CountyRunner:
    name: str
    settings: Settings
    stop_event: asyncio.Event
    clock: Clock | None = None
    db: Database | None = None  # given: used as is (not migrated, not disposed); else one per activation
    migrate: bool = True
    release_leases: bool = True
    webhook: Webhook | None = None
    health: Any = None  # polling: the web server of /healthz and /metrics (bot/serve/web.py), if one runs
    retry: float = RETRY
    county: str | None = None  # the label of its metrics and log lines (None: "default")
    # Alembic's command context is process-global: the counties of one process migrate one at a time.
    migrations: asyncio.Lock = field(default_factory=asyncio.Lock)
    active: asyncio.Event = field(default_factory=asyncio.Event)  # set while the county is served here
    stopped: asyncio.Event = field(default_factory=asyncio.Event)  # set when it stops being served here
    starts: int = 0

    async def run(self) -> None:
        clock = self.clock or SystemClock(self.settings.tz)
        crashes = 0
        if self.webhook is not None:
            self.webhook.server.standby(self.name, self.webhook.path)
        elif self.health is not None:
            self.health.standby(self.name, None)
        while not self.stop_event.is_set():
            lock = lock_for(self.settings.database_url)
            failed = True
            began = time.monotonic()
            try:
                acquired = await acquire_or_stop(
                    lock, self.stop_event, retry=self.retry,
                    on_standby=lambda lock=lock: log.info("%s: standby (another process holds the %s)",
                                                          self.name, lock.describe()))
                if not acquired:
                    return
                log.info("%s: took the %s", self.name, lock.describe())
                began = time.monotonic()
                failed = await self._serve(lock, clock)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: cannot take the lock", self.name)
            finally:
                await lock.release()
            if self.stop_event.is_set():
                return
            if not failed:  # the lock was lost: back to standby at once
                continue
            crashes = 1 if time.monotonic() - began > HEALTHY_AFTER else crashes + 1
            pause = CRASH_PAUSES[min(crashes, len(CRASH_PAUSES)) - 1]
            log.warning("%s: restarting in %.0f s", self.name, pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), pause)

    async def _serve(self, lock: Any, clock: Clock) -> bool:
        """Run the county while the lock is held; True if its Application failed."""
        db = self.db or Database(self.settings.database_url, pool_size=self.settings.db_pool_size,
                                 max_overflow=self.settings.db_max_overflow)
        app = None
        failed = False
        try:
            if self.migrate:
                async with self.migrations:
                    await upgrade(db.engine)
            if self.release_leases:
                released = await release_orphaned_leases(uow=db.uow())
                if released:
                    log.warning("%s: %s outbox rows were in flight in the previous holder; sending them again "
                                "(they may repeat): ids %s", self.name, len(released), released)
            username = await known_username(self.settings, db)
            self.starts += 1
            if self.webhook is None:
                app = build_application(self.settings, db, clock, bot_username=username, county=self.county)
                await start_polling(app)
                if self.health is not None:
                    self.health.watch(self.name, app)
            else:
                app = build_application(self.settings, db, clock, bot_username=username, webhook=True,
                                        county=self.county)
                self.webhook.server.mount(self.name, app, path=self.webhook.path, secret=self.webhook.secret)
                await start_webhook(app, url=self.webhook.url, secret=self.webhook.secret)
            self.stopped.clear()
            self.active.set()
            log.info("%s: active (%s)", self.name, "polling" if self.webhook is None else f"webhook {self.webhook.url}")
            failed = await self._hold(app, lock)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: the bot failed; its other counties are not affected", self.name)
            failed = True
        finally:
            was_active = self.active.is_set()
            self.active.clear()
            if self.webhook is not None:
                self.webhook.server.unmount(self.name)
                self.webhook.server.standby(self.name, self.webhook.path)
            elif self.health is not None:
                self.health.standby(self.name, None)
            if app is not None:
                try:
                    await asyncio.wait_for(stop(app), STOP_TIMEOUT)
                except Exception:
                    log.exception("%s: stopping the bot failed", self.name)
                await _close_connections(app)
            if self.db is None:
                await db.dispose()
            if was_active:
                self.stopped.set()
        return failed

    async def _hold(self, app: Any, lock: Any) -> bool:
        """Until a stop is asked, the lock is lost (False) or the updates stop coming (True)."""
        while True:
            stopping = asyncio.ensure_future(self.stop_event.wait())
            lost = asyncio.ensure_future(lock.lost.wait())
            try:
                await asyncio.wait({stopping, lost}, timeout=self.retry, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
                lost.cancel()
            if self.stop_event.is_set():
                return False
            if lock.lost.is_set():
                log.error("%s: lost the lock: stopping this county at once", self.name)
                return False
            if not app.running or (app.updater is not None and not app.updater.running):
                log.error("%s: the bot stopped receiving updates", self.name)
                return True


async def _close_connections(app: Any) -> None:
    """Close the bot's HTTP clients even when its start failed halfway (PTB's shutdown skips a bot
    whose initialize() did not finish, leaving its connections open)."""
    for request in getattr(app.bot, "_request", ()):  # (getUpdates', everything else's)
        with contextlib.suppress(Exception):
            await request.shutdown()


async def run_single(settings: Settings, db: Database, clock: Clock, *, stop_event: asyncio.Event) -> None:
    """``duban run`` (polling): one county, standby while another process holds its database's lock.
    A process killed mid-send leaves its rows in flight to their lease (services/outbox.LEASE)."""
    health = health_server(settings)
    runner = CountyRunner(DEFAULT_COUNTY, settings, stop_event, clock=clock, db=db, migrate=False, release_leases=False,
                          health=health)
    waiter = asyncio.ensure_future(runner.active.wait())
    waiter.add_done_callback(
        lambda f: f.cancelled() or log.info("Duban is running (polling); press Ctrl+C to stop"))
    if health is not None:
        await health.start()
    try:
        await runner.run()
    finally:
        waiter.cancel()
        if health is not None:
            await health.stop()


def health_server(settings: Settings) -> Any:
    """Polling mode with DUBAN_WEB_PORT (the dashboard, and /healthz and /metrics behind the token) and/or
    DUBAN_HEALTH_PORT (/healthz and /metrics only): our web server, without webhooks."""
    if settings.health_port is None and settings.web_port is None:
        return None
    return WebServer(settings, host=settings.webhook_host, port=settings.web_port, health_port=settings.health_port,
                     base_path="/", webhook=False)


async def run_counties(path: Path, settings: Settings, *, webhook_url: str | None, stop_event: asyncio.Event,
                       clock: Clock | None = None, environ: Any = None) -> None:
    """``duban run --counties FILE``: every county of the file, each under its own supervisor."""
    environ = os.environ if environ is None else environ
    counties = load_counties(path, environ)
    migrations = asyncio.Lock()
    server = None
    base_url = webhook_url.strip().rstrip("/") if webhook_url else None
    runners = []
    if base_url:
        try:
            base_path = webhook_path(base_url).rstrip("/")
        except ValueError:
            raise BadWebhookUrl(webhook_url or "") from None
        server = WebServer(settings, host=settings.webhook_host, port=settings.webhook_port, base_path=base_path or "/",
                           health_port=settings.health_port)
        for county in counties:
            webhook = Webhook(server, url=f"{base_url}/{county.code}", path=f"{base_path}/{county.code}",
                              secret=webhook_secret(settings, county.code))
            runners.append(CountyRunner(county.code, county_settings(settings, county, environ), stop_event,
                                        clock=clock, webhook=webhook, county=county.code,
                                        migrations=migrations))
    else:
        server = health_server(settings)
        runners = [CountyRunner(county.code, county_settings(settings, county, environ), stop_event, clock=clock,
                                county=county.code, migrations=migrations, health=server) for county in counties]
    if server is not None:
        await server.start()
    log.info("serving %s counties: %s", len(runners), ", ".join(r.name for r in runners))
    try:
        results = await asyncio.gather(*(r.run() for r in runners), return_exceptions=True)
        for runner, result in zip(runners, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                log.error("%s: supervisor ended with %r", runner.name, result)
    finally:
        if server is not None:
            await server.stop()
