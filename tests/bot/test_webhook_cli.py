"""``duban run --webhook URL`` as an operator runs it: a real process, Telegram (the fake) POSTing to it,
SIGTERM, a restart that gets what came meanwhile; JSON logs; the settings it refuses to start without."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys

import aiohttp

from config.settings import Settings
from models.enums import Role
from tests.support.factories import add_person, add_unit

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "0123456789abcdef0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start(rig, tmp_path, url: str, port: int, health_port: int) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env.update({
        "DUBAN_TOKEN": rig.fake.token, "DUBAN_DATABASE_URL": rig.db.url,
        "DUBAN_BOT_API_BASE_URL": f"{rig.fake.url}/bot", "DUBAN_BOT_API_FILE_URL": f"{rig.fake.url}/file/bot",
        "DUBAN_PER_CHAT_INTERVAL": "0", "DUBAN_DELIVERY_INTERVAL": "0.1",
        "DUBAN_WEBHOOK_SECRET": SECRET, "DUBAN_WEBHOOK_PORT": str(port), "DUBAN_LOG_FORMAT": "json",
        "DUBAN_HEALTH_PORT": str(health_port),
        "PTB_TIMEDELTA": "1", "PYTHONPATH": ROOT,
    })
    with open(tmp_path / "bot.log", "ab") as log:  # noqa: ASYNC230 (the child keeps its own copy)
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", "--webhook", url, cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=log)


async def terminate(proc: asyncio.subprocess.Process) -> int:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(proc.wait(), 30)


async def test_run_webhook_serves_stops_on_sigterm_and_gets_what_came_meanwhile(rig, tmp_path) -> None:
    from bot.serve.web import webhook_secret

    unit = await add_unit(rig.db, rig.clock, code="V1", name="青山村")
    await add_person(rig.db, rig.clock, name="张三", unit=unit, telegram_user_id=200)
    await add_person(rig.db, rig.clock, name="Office", roles=(Role.ADMIN,), telegram_user_id=1, language="en")
    port, health_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}/duban"
    first = await start(rig, tmp_path, url, port, health_port)
    try:
        hook = await rig.fake.wait_for_request("setWebhook", timeout=30)
        expected = webhook_secret(Settings(webhook_secret=SECRET, _env_file=None))  # type: ignore[call-arg]
        assert hook["url"] == url and hook["secret_token"] == expected
        cadre, admin = rig.fake.user(200), rig.fake.user(1, language_code="en")
        asked = await cadre.send_text("/me 秘密的话")
        assert "张三" in (await cadre.wait_reply(timeout=30)).text
        await admin.send_text("/help")
        assert "Here is what you can do" in (await admin.wait_reply(timeout=30)).text
        async with aiohttp.ClientSession() as s:
            async with s.get(f"http://127.0.0.1:{port}/healthz") as r:
                assert r.status == 404  # not on the webhook port without DUBAN_METRICS_TOKEN
            async with s.get(f"http://127.0.0.1:{health_port}/healthz") as r:  # on DUBAN_HEALTH_PORT
                health = await r.json()
        assert r.status == 200 and health["counties"]["default"]["database"] == "ok"
        assert health["counties"]["default"]["scheduler"] == "ok"
    finally:
        assert await terminate(first) == 0, (tmp_path / "bot.log").read_text()
    assert rig.fake.webhook["url"] == url  # left set: Telegram keeps updates while we are away
    # While the bot is down Telegram cannot deliver (no connection) and keeps trying.
    late = await cadre.send_text("/help")
    await rig.fake.wait_until(lambda: (late.update_id, 0) in rig.fake.webhook_attempts, what="a failed delivery")
    second = await start(rig, tmp_path, url, port, health_port)
    try:
        assert "您可以使用以下命令" in (await cadre.wait_reply(timeout=30)).text
    finally:
        assert await terminate(second) == 0, (tmp_path / "bot.log").read_text()
    assert len(cadre.replies()) == 2
    log_text = (tmp_path / "bot.log").read_text()
    lines = [json.loads(line) for line in log_text.splitlines()]  # every line is JSON
    (line,) = [x for x in lines if x.get("logger") == "duban.updates" and x.get("update_id") == asked.update_id]
    assert line["county"] == "default" and line["handler"] == "help.me" and line["outcome"] == "ok"
    assert line["type"] == "message" and line["duration_ms"] >= 0 and line["level"] == "info"
    assert rig.fake.token not in log_text and SECRET not in log_text and expected not in log_text
    assert "秘密的话" not in log_text  # nobody's message text


async def test_run_webhook_refuses_to_start_without_a_secret_or_with_a_bad_url(cli) -> None:
    missing = await cli("run", "--webhook", "https://example.org/duban")
    assert missing.code == 2 and "DUBAN_WEBHOOK_SECRET is not set" in missing.err
    short = await cli("run", "--webhook", "https://example.org/duban", DUBAN_WEBHOOK_SECRET="short")
    assert short.code == 2 and "DUBAN_WEBHOOK_SECRET is too short" in short.err
    bad_url = await cli("run", "--webhook", "example.org/duban", DUBAN_WEBHOOK_SECRET=SECRET)
    assert bad_url.code == 2 and "is not a public URL" in bad_url.err
    bad_port = await cli("run", "--webhook", "https://example.org/duban", DUBAN_WEBHOOK_SECRET=SECRET,
                         DUBAN_WEBHOOK_PORT="70000")
    assert bad_port.code == 2 and "DUBAN_WEBHOOK_PORT must be a TCP port number" in bad_port.err
    bad_format = await cli("run", DUBAN_LOG_FORMAT="xml")
    assert bad_format.code == 2 and "DUBAN_LOG_FORMAT must be text or json" in bad_format.err
