"""Prometheus instruments: one registry for the process, a ``county`` label on every series of a county (the
web server's own series, ``duban_web_*``, have a ``listener`` label instead: ``webhook`` or ``health``).

Served by ``bot.serve.web.WebServer`` at ``GET /metrics`` (text format). Counters count from the start of
the process; Prometheus computes rates (e.g. the outbox delivery rate is
``rate(duban_outbox_sent_total[5m])``). The outbox backlog is read from each mounted county's
database when /metrics is scraped (``refresh_backlog``); everything else is counted where it happens:
updates (and those the throttle dropped) in ``bot.app.processor``, sends and 429s in ``bot.app.delivery`` /
``bot.app.ratelimit``, alerts and the scheduler's lag in ``bot.app.jobs``, webhook requests in
``bot.serve.web``, connections in ``bot.serve.limits``.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.exposition import choose_encoder

DEFAULT_COUNTY = "default"

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

UPDATES_RECEIVED = Counter(
    "duban_updates_received", "Updates that reached the bot (webhook or polling).", ["county"], registry=REGISTRY)
UPDATES_HANDLED = Counter(
    "duban_updates_handled",
    "Updates handled, by the handler that ran and the outcome (ok, error, stopped: the gate stopped it, "
    "unhandled: no handler matched).",
    ["county", "handler", "outcome"], registry=REGISTRY)
UPDATES_DROPPED = Counter(
    "duban_updates_dropped",
    "Updates dropped before any work, by reason (throttled: the person sent more than DUBAN_USER_BURST at "
    "once or faster than DUBAN_USER_RATE a second).", ["county", "reason"], registry=REGISTRY)
UPDATE_DURATION = Histogram(
    "duban_update_duration_seconds", "Time to handle one update, by handler.", ["county", "handler"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0), registry=REGISTRY)
WEBHOOK_REQUESTS = Counter(
    "duban_webhook_requests",
    "Webhook requests by HTTP status (200 queued, 400 malformed, 403 bad secret, 408 body too slow, 413 too large, "
    "503 county not active here).", ["county", "status"], registry=REGISTRY)
WEB_CONNECTIONS = Gauge(
    "duban_web_connections", "Connections open to our web server now.", ["listener"], registry=REGISTRY)
WEB_REFUSED = Counter(
    "duban_web_connections_refused",
    "Connections refused (503, closed) because DUBAN_WEB_MAX_CONNECTIONS were open.", ["listener"], registry=REGISTRY)
WEB_TIMEOUTS = Counter(
    "duban_web_timeouts",
    "Connections closed for being too slow: phase header (no request headers within DUBAN_WEB_HEADER_TIMEOUT) or "
    "body (a webhook body not in within DUBAN_WEB_BODY_TIMEOUT: 408).", ["listener", "phase"], registry=REGISTRY)
OUTBOX_BACKLOG = Gauge(
    "duban_outbox_backlog", "Outbox messages waiting to be sent (read at scrape time).", ["county"],
    registry=REGISTRY)
OUTBOX_SENT = Counter("duban_outbox_sent", "Outbox messages delivered to Telegram.", ["county"], registry=REGISTRY)
OUTBOX_FAILED = Counter(
    "duban_outbox_failed",
    "Outbox send attempts that failed (retry: 429/5xx/timeout, will be tried again; blocked: the user "
    "blocked the bot; refused: Telegram said 400).", ["county", "reason"], registry=REGISTRY)
TELEGRAM_429 = Counter(
    "duban_telegram_429", "429 Too Many Requests answers from Telegram (replies and outbox).", ["county"],
    registry=REGISTRY)
ALERTS_CREATED = Counter(
    "duban_alerts_created", "Alerts created by the scheduler tick, by level.", ["county", "level"], registry=REGISTRY)
TICK_LAG = Gauge(
    "duban_scheduler_tick_lag_seconds",
    "How late the last scheduler tick started, against its interval.", ["county"], registry=REGISTRY)
TICK_LAST = Gauge(
    "duban_scheduler_last_tick_timestamp_seconds", "Unix time the last scheduler tick finished.", ["county"],
    registry=REGISTRY)
TICK_DURATION = Histogram(
    "duban_scheduler_tick_duration_seconds", "Time one scheduler tick took.", ["county"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0), registry=REGISTRY)
COUNTY_ACTIVE = Gauge(
    "duban_county_active", "1 if this process serves the county now, 0 if it is mounted elsewhere (standby).",
    ["county"], registry=REGISTRY)


def render(accept: str | None = None) -> tuple[bytes, str]:
    """The whole registry and its content type: Prometheus' text format 0.0.4, or OpenMetrics when
    the scraper's ``Accept`` header asks for it."""
    encoder, content_type = choose_encoder(accept)
    return encoder(REGISTRY), content_type


__all__ = [
    "ALERTS_CREATED",
    "COUNTY_ACTIVE",
    "DEFAULT_COUNTY",
    "OUTBOX_BACKLOG",
    "OUTBOX_FAILED",
    "OUTBOX_SENT",
    "REGISTRY",
    "TELEGRAM_429",
    "TICK_DURATION",
    "TICK_LAG",
    "TICK_LAST",
    "UPDATES_DROPPED",
    "UPDATES_HANDLED",
    "UPDATES_RECEIVED",
    "UPDATE_DURATION",
    "WEBHOOK_REQUESTS",
    "WEB_CONNECTIONS",
    "WEB_REFUSED",
    "WEB_TIMEOUTS",
    "render",
]
