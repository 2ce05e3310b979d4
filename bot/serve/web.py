"""Our own web server (aiohttp): the webhook of every county served by this process (webhook mode),
``GET /healthz`` and ``GET /metrics``. Two listeners, each optional: the webhook port (``port``) and the
health port (``health_port``, DUBAN_HEALTH_PORT, in polling and webhook mode alike).

A county's Application (built with ``webhook=True``: no updater) is *mounted* at a path with its
secret. ``POST <path>``:

* the ``X-Telegram-Bot-Api-Secret-Token`` header must equal the county's secret
  (``hmac.compare_digest``); wrong or missing → 403, the body is not even read;
* a body over ``DUBAN_WEBHOOK_MAX_BODY`` → 413; not JSON, or JSON that is not an update → 400
  (logged without the body; the server keeps serving);
* a good update goes on ``app.update_queue`` and the answer waits until it has been handled (up to
  ``ack_timeout``), so an update whose process dies first is not confirmed and Telegram delivers it
  again (the handled-update-id set makes that harmless) → 200;
* a path that is unmounted or held by another process (``standby``) → 503, nothing queued:
  Telegram tries again later; an unknown path → 404.

``/healthz`` and ``/metrics`` are for the monitoring: on the health port as they are (keep it on the
private network), on the webhook port only with ``Authorization: Bearer <DUBAN_METRICS_TOKEN>`` (401
without it; 404 when no token is set: not served there). ``/healthz`` is checked at most once a
``health_ttl`` (a second): requests meanwhile get the same answer, so it cannot be used to load the
databases. Besides each county's database, scheduler and outbox it reports the free space of the
disk of the county's evidence folder, unhealthy under DUBAN_HEALTH_MIN_FREE_MB.

Every connection goes through bot/serve/limits.py: at most DUBAN_WEB_MAX_CONNECTIONS open per
listener, a request's headers within DUBAN_WEB_HEADER_TIMEOUT; a webhook body must arrive within
DUBAN_WEB_BODY_TIMEOUT (else 408 and the connection is closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot import metrics
from bot.app.processor import PerChatUpdateProcessor
from bot.serve import health
from bot.serve.dashboard import Dashboard
from bot.serve.limits import Connections, Listener, deadlines
from config.settings import Settings, SettingsError
from handlers.context import Deps
from services.core import outbox

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_TTL = 1.0  # seconds an answer of /healthz is reused


def webhook_path(url: str) -> str:
    """The path part of the public webhook URL (what our server serves); ValueError if the URL is not
    an absolute http(s) URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(url)
    return parts.path or "/"


def webhook_secret(settings: Settings, county_code: str = "") -> str:
    """The secret Telegram must send for this county: HMAC-SHA256(DUBAN_WEBHOOK_SECRET, county code)
    in hex (64 characters of Telegram's allowed 1-256 of ``A-Za-z0-9_-``), so one setting serves
    every county and a county's secret says nothing about another's."""
    if settings.webhook_secret is None:
        raise SettingsError(
            "DUBAN_WEBHOOK_SECRET is not set: webhook mode needs a random secret of at least 16 characters "
            "(e.g. `openssl rand -hex 32`) in DUBAN_WEBHOOK_SECRET (or in .env)"
        )
    key = settings.webhook_secret.get_secret_value().encode()
    return hmac.new(key, f"duban-webhook:{county_code}".encode(), hashlib.sha256).hexdigest()


def normalize_path(path: str) -> str:
    """``/duban/`` → ``/duban``; ``""`` → ``/``."""
    path = "/" + path.strip().strip("/")
    return path


@dataclass
class _Mount:
    key: str
    app: Application
    path: str | None  # None: a polling county, watched by /healthz and /metrics only
    secret: bytes


class WebServer:
    """One per process; see the module docstring."""

    def __init__(self, settings: Settings, *, host: str, port: int | None, base_path: str,
                 ack_timeout: float = 25.0, health_port: int | None = None, webhook: bool = True) -> None:
        """``port``: the public listener (None: none): the webhooks (unless ``webhook`` is False: polling with
        DUBAN_WEB_PORT), the dashboard, and /healthz and /metrics behind the token; ``health_port``: one of
        /healthz and /metrics only (None: none)."""
        if port and health_port and port == health_port:
            raise SettingsError(f"DUBAN_HEALTH_PORT ({health_port}) must differ from DUBAN_WEBHOOK_PORT: the health "
                                "port serves /healthz and /metrics without the token")
        self.settings = settings
        self.host = host
        self._port = port
        self._health_port = health_port
        self.base_path = normalize_path(base_path)
        self.webhook = webhook
        self.ack_timeout = ack_timeout
        self.health_ttl = HEALTH_TTL
        self._mounts: dict[str, _Mount] = {}  # by key (county code)
        self._by_path: dict[str, _Mount] = {}
        self._held: dict[str, str] = {}  # path -> key of a county not (or no longer) active here: 503
        self._standby: dict[str, str] = {}  # key -> path: counties another process serves
        self._runners: dict[str, web.AppRunner] = {}  # by listener: "webhook", "health"
        self._health: tuple[float, dict[str, Any]] | None = None  # (when, answer) of /healthz
        self._health_lock = asyncio.Lock()

    # ------------------------------------------------------------------ counties
    def path_for(self, key: str) -> str:
        """The conventional webhook path of a county: ``<base_path>/<key>``."""
        return f"{self.base_path.rstrip('/')}/{key}"

    def watch(self, key: str, app: Application) -> None:
        """A county active here by polling: no webhook path, but /healthz and /metrics report it."""
        self.unmount(key)
        self._health = None
        self._mounts[key] = _Mount(key, app, None, b"")
        self._standby.pop(key, None)
        metrics.COUNTY_ACTIVE.labels(key).set(1)

    def mount(self, key: str, app: Application, *, path: str, secret: str) -> None:
        """Serve ``POST path`` for this Application (the county is active in this process)."""
        path = normalize_path(path)
        label = getattr(app.bot_data, "county", None)
        if label != key:
            log.warning("county %s is mounted with an Application labelled %r: build it with "
                        "build_application(..., county=%r) so its metrics and logs name it", key, label, key)
        other = self._by_path.get(path)
        if other is not None and other.key != key:
            raise ValueError(f"path {path} is already mounted for {other.key}")
        self.unmount(key)
        self._health = None
        mount = _Mount(key, app, path, secret.encode())
        self._mounts[key] = mount
        self._by_path[path] = mount
        self._held.pop(path, None)
        self._standby.pop(key, None)
        metrics.COUNTY_ACTIVE.labels(key).set(1)

    def unmount(self, key: str) -> None:
        """Stop serving the county here: its path answers 503 (Telegram retries), nothing is queued."""
        mount = self._mounts.pop(key, None)
        if mount is None:
            return
        self._health = None
        if mount.path is not None:
            self._by_path.pop(mount.path, None)
            self._held[mount.path] = key
        metrics.COUNTY_ACTIVE.labels(key).set(0)
        with contextlib.suppress(KeyError):
            metrics.OUTBOX_BACKLOG.remove(mount.app.bot_data.county)

    def standby(self, key: str, path: str | None) -> None:
        """Mark a county served by another process (failover): its path (if it has one: None for
        polling) answers 503 here and /healthz lists it under ``standby``."""
        if key in self._mounts:
            self.unmount(key)
        self._health = None
        path = normalize_path(path) if path is not None else ""
        if path:
            self._held[path] = key
        self._standby[key] = path
        metrics.COUNTY_ACTIVE.labels(key).set(0)

    @property
    def active(self) -> list[str]:
        return list(self._mounts)

    def county_deps(self, key: str | None) -> Deps | None:
        """The Deps of a county active here (``None``: the only one, if exactly one is)."""
        if key is None:
            mounts = list(self._mounts.values())
            return mounts[0].app.bot_data if len(mounts) == 1 else None
        mount = self._mounts.get(key)
        return mount.app.bot_data if mount is not None else None

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        if self._port is not None:
            app = web.Application(client_max_size=self.settings.webhook_max_body, middlewares=[deadlines])
            app.router.add_get("/healthz", self._guarded(self._healthz))
            app.router.add_get("/metrics", self._guarded(self._metrics))
            Dashboard(self.county_deps).add_routes(app)
            if self.webhook:
                app.router.add_post("/{path:.*}", self._webhook)
            await self._listen("webhook", app, self._port)
        if self._health_port is not None:
            app = web.Application(middlewares=[deadlines])
            app.router.add_get("/healthz", self._healthz)
            app.router.add_get("/metrics", self._metrics)
            await self._listen("health", app, self._health_port)

    async def _listen(self, name: str, app: web.Application, port: int) -> None:
        s = self.settings
        # The header deadline (idle keep-alive included) and the cap are ours (bot/serve/limits.py); aiohttp
        # drains a body left unread (a refused request) for at most lingering_time before closing.
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5.0,
                               lingering_time=s.web_body_timeout)
        await runner.setup()
        self._runners[name] = runner
        connections = Connections(name, cap=s.web_max_connections, header_timeout=s.web_header_timeout)
        await Listener(runner, self.host, port, connections).start()
        log.info("web server (%s) listening on %s:%s", name, self.host, self._bound(name))

    async def stop(self) -> None:
        runners, self._runners = self._runners, {}
        for runner in runners.values():
            await runner.cleanup()

    def _bound(self, name: str) -> int | None:
        runner = self._runners.get(name)
        if runner is None or not runner.addresses:
            return None
        return int(runner.addresses[0][1])

    @property
    def port(self) -> int:
        """The bound webhook port (the real one when 0 was asked for)."""
        return self._bound("webhook") or self._port or 0

    @property
    def health_port(self) -> int | None:
        """The bound health port, if there is a health listener."""
        return self._bound("health") or self._health_port

    def _guarded(self, handler: Any) -> Any:
        """/healthz and /metrics on the webhook port: only with the bearer token (see the module docstring)."""
        async def guarded(request: web.Request) -> web.StreamResponse:
            token = self.settings.metrics_token
            if token is None:
                raise web.HTTPNotFound()
            given = request.headers.get("Authorization", "")
            expected = f"Bearer {token.get_secret_value()}"
            if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode()):
                raise web.HTTPUnauthorized(headers={"WWW-Authenticate": "Bearer"})
            return await handler(request)

        return guarded

    # ------------------------------------------------------------------ the webhook
    def _reject(self, key: str, status: int, reason: str, request: web.Request) -> web.Response:
        metrics.WEBHOOK_REQUESTS.labels(key, str(status)).inc()
        level = logging.INFO if status == 503 else logging.WARNING
        log.log(level, "webhook request refused", extra={
            "county": key, "status": status, "reason": reason, "path": request.path,
            "remote": request.headers.get("X-Forwarded-For", request.remote or ""),
            "content_length": request.content_length})
        return web.json_response({"ok": False, "error": reason}, status=status)

    async def _webhook(self, request: web.Request) -> web.Response:
        path = normalize_path(request.path)
        mount = self._by_path.get(path)
        if mount is None:
            held = self._held.get(path)
            if held is not None:
                return self._reject(held, 503, "county not active in this process", request)
            return self._reject("unknown", 404, "unknown path", request)
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return self._reject(mount.key, 403, "secret token missing", request)
        if not hmac.compare_digest(given.encode("utf-8", "replace"), mount.secret):
            return self._reject(mount.key, 403, "wrong secret token", request)
        limit = self.settings.webhook_max_body
        if request.content_length is not None and request.content_length > limit:
            return self._reject(mount.key, 413, f"body over {limit} bytes", request)
        try:
            async with asyncio.timeout(self.settings.web_body_timeout):
                body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._reject(mount.key, 413, f"body over {limit} bytes", request)
        except TimeoutError:
            metrics.WEB_TIMEOUTS.labels("webhook", "body").inc()
            response = self._reject(mount.key, 408, "body not received in time", request)
            response.force_close()
            return response
        update = self._parse(body, mount)
        if isinstance(update, str):
            return self._reject(mount.key, 400, update, request)
        processor = mount.app.update_processor
        done = processor.handled(update.update_id) if isinstance(processor, PerChatUpdateProcessor) else None
        await mount.app.update_queue.put(update)
        metrics.WEBHOOK_REQUESTS.labels(mount.key, "200").inc()
        if done is not None:
            try:
                await asyncio.wait_for(asyncio.shield(done), self.ack_timeout)
            except TimeoutError:
                log.warning("update %s not handled within %s s; confirmed anyway", update.update_id,
                            self.ack_timeout, extra={"county": mount.key})
                assert isinstance(processor, PerChatUpdateProcessor)
                processor.forget(update.update_id, done)
        return web.json_response({"ok": True})

    @staticmethod
    def _parse(body: bytes, mount: _Mount) -> Update | str:
        """The update, or why the body is not one."""
        try:
            data = json.loads(body)
        except ValueError:  # (UnicodeDecodeError is a ValueError)
            return "body is not JSON"
        except RecursionError:
            return "JSON nested too deeply"
        if not isinstance(data, dict):
            return "JSON is not an update (not an object)"
        update_id = data.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
            return "JSON is not an update (no update_id)"
        try:
            update = Update.de_json(data, mount.app.bot)
        except Exception as exc:  # PTB raises KeyError/TypeError/ValueError on malformed objects
            return f"JSON is not an update ({type(exc).__name__})"
        if update is None:
            return "JSON is not an update"
        return update

    # ------------------------------------------------------------------ health and metrics
    async def _healthz(self, request: web.Request) -> web.Response:
        async with self._health_lock:  # one check at a time; its answer serves for ``health_ttl``
            cached = self._health
            if cached is None or not 0 <= time.monotonic() - cached[0] < self.health_ttl:
                cached = self._health = (time.monotonic(), await self._check_health())
        body = cached[1]
        return web.json_response(body, status=200 if body["ok"] else 503)

    async def _check_health(self) -> dict[str, Any]:
        keys = list(self._mounts)
        checks = await asyncio.gather(*(health.county(self._mounts[k].app) for k in keys))
        counties = dict(zip(keys, checks, strict=True))
        ok = all(c["ok"] for c in counties.values())
        return {"ok": ok, "counties": counties, "standby": sorted(self._standby)}

    async def _metrics(self, request: web.Request) -> web.Response:
        await asyncio.gather(*(self._refresh_backlog(m) for m in list(self._mounts.values())))
        body, content_type = metrics.render(request.headers.get("Accept"))
        return web.Response(body=body, headers={"Content-Type": content_type})

    @staticmethod
    async def _refresh_backlog(mount: _Mount) -> None:
        deps: Deps = mount.app.bot_data
        try:
            n = await asyncio.wait_for(outbox.backlog(uow=deps.db.read_uow()), health.CHECK_TIMEOUT)
        except Exception as exc:
            log.warning("outbox backlog of %s unavailable: %s", mount.key, type(exc).__name__)
            with contextlib.suppress(KeyError):
                metrics.OUTBOX_BACKLOG.remove(deps.county)
            return
        metrics.OUTBOX_BACKLOG.labels(deps.county).set(n)
