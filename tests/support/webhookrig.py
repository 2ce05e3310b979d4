"""The bot in webhook mode under test: the real Application behind the real ``bot.serve.web.WebServer``
(on a free port), the fake Bot API POSTing updates to it as Telegram does, on a real database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from telegram.ext import Application

from bot.app.build import build_application, start_webhook, stop
from bot.serve.web import SECRET_HEADER, WebServer, webhook_secret
from tests.support.botrig import Rig, make_settings

SECRET = "a-shared-webhook-secret-for-tests"
METRICS_TOKEN = "a-metrics-token-for-tests"  # /healthz and /metrics on the webhook port need it
BASE = "/duban"


@dataclass
class Hooked:
    app: Application
    server: WebServer
    county: str
    path: str
    secret: str

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def url(self) -> str:
        return self.root + self.path

    async def post(self, body: bytes | str | dict, *, secret: str | None = "", path: str | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, dict]:
        """POST to the webhook as Telegram (or an intruder) would; ``secret=""``: the right one,
        ``None``: no header. Returns (status, JSON answer)."""
        data = json.dumps(body) if isinstance(body, dict) else body
        sent = {"Content-Type": "application/json", **(headers or {})}
        if secret is not None:
            sent[SECRET_HEADER] = secret or self.secret
        async with aiohttp.ClientSession() as s, s.post(self.root + (path or self.path), data=data,
                                                          headers=sent) as r:
            return r.status, await r.json(content_type=None)

    async def get(self, what: str) -> tuple[int, Any]:
        """GET /healthz or /metrics on the webhook port, with the bearer token."""
        headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        async with aiohttp.ClientSession() as s, s.get(f"{self.root}/{what}", headers=headers) as r:
            return r.status, (await r.json() if what == "healthz" else await r.text())

    async def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """/metrics as {(sample name, sorted labels): value}."""
        status, text = await self.get("metrics")
        assert status == 200
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(text) for s in family.samples}


async def handled(rig: Rig, *messages: Any) -> None:
    """Wait until these updates (what ``send_text``/``press`` returned) are handled: our server
    answers Telegram's POST only then, so the fake has recorded a 200 for each."""
    ids = [m.update_id if hasattr(m, "update_id") else m["update_id"] for m in messages]
    await rig.fake.wait_until(lambda: all((i, 200) in rig.fake.webhook_attempts for i in ids), what=f"{ids} handled")


def sample(values: dict, name: str, **labels: str) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


@asynccontextmanager
async def webhook_bot(rig: Rig, *, county: str = "default", **overrides: Any) -> AsyncIterator[Hooked]:
    """Start the bot in webhook mode for ``county`` (mounted at /duban/<county>) and stop it cleanly."""
    values = {"webhook_secret": SECRET, "webhook_port": 0, "metrics_token": METRICS_TOKEN, **overrides}
    settings = make_settings(rig.fake, rig.db.url, rig.settings.evidence_dir, **values)
    rig.settings = settings
    app = build_application(settings, rig.db, rig.clock, webhook=True, county=county)
    server = WebServer(settings, host="127.0.0.1", port=0, base_path=BASE)
    await server.start()
    path, secret = server.path_for(county), webhook_secret(settings, county)
    server.mount(county, app, path=path, secret=secret)
    hooked = Hooked(app, server, county, path, secret)
    rig.app = app
    try:
        await start_webhook(app, url=hooked.url, secret=secret)
        yield hooked
    finally:
        server.unmount(county)
        try:
            await stop(app)
        finally:
            await server.stop()
            rig.app = None
