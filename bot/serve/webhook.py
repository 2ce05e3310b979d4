"""``duban run --webhook URL``: one county served through Telegram's webhook instead of polling.

Telegram POSTs each update to URL (https, behind a reverse proxy that forwards URL's path to
``DUBAN_WEBHOOK_HOST:DUBAN_WEBHOOK_PORT``); bot/serve/web.py checks the secret and queues the update.
On stop the webhook is left set: Telegram keeps what comes meanwhile (up to 24 hours) and delivers
it when the bot is back. ``duban run`` without --webhook (polling) deletes the webhook itself.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from bot import metrics
from bot.serve.errors import BadWebhookUrl
from bot.serve.runner import CountyRunner, Webhook
from bot.serve.web import WebServer, webhook_path, webhook_secret
from config.settings import Settings
from models.db import Database
from services.core.clock import Clock

log = logging.getLogger("duban")


def check_webhook(settings: Settings, url: str) -> tuple[str, str]:
    """(path, secret) for ``run --webhook URL``; BadWebhookUrl for a bad URL, SettingsError without
    DUBAN_WEBHOOK_SECRET."""
    try:
        path = webhook_path(url)
    except ValueError:
        raise BadWebhookUrl(url) from None
    return path, webhook_secret(settings)


async def run_webhook(settings: Settings, db: Database, clock: Clock, url: str, *, stop_event: asyncio.Event) -> None:
    """Serve one county by webhook until ``stop_event`` is set, then stop cleanly. Like polling, the
    county is served only while this process holds its database's lock (bot/serve/failover.py): a second
    ``duban run --webhook`` on the same database stands by, its path answering 503."""
    path, secret = check_webhook(settings, url)
    if urlsplit(url).scheme != "https":
        log.warning("the webhook URL is not https: Telegram only delivers to https URLs")
    server = WebServer(settings, host=settings.webhook_host, port=settings.webhook_port, base_path=path,
                       health_port=settings.health_port)
    runner = CountyRunner(metrics.DEFAULT_COUNTY, settings, stop_event, clock=clock, db=db, migrate=False,
                          release_leases=False, webhook=Webhook(server, url=url, path=path, secret=secret))
    waiter = asyncio.ensure_future(runner.active.wait())
    waiter.add_done_callback(lambda f: f.cancelled() or log.info(
        "Duban is running (webhook %s, listening on %s:%s); press Ctrl+C to stop", url, settings.webhook_host,
        server.port))
    await server.start()
    try:
        await runner.run()
    finally:
        waiter.cancel()
        await server.stop()
