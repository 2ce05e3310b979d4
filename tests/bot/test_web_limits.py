"""Our web server holds against slow and greedy clients: raw TCP connections that send half a header or
half a body are closed after their timeouts, connections beyond the cap are refused, and Telegram's
POSTs still get through; /healthz and /metrics on the webhook port need the bearer token; /healthz is
checked at most once a second and reports the free disk -- the real bot behind the real server."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from bot import metrics
from bot.serve.web import SECRET_HEADER, WebServer
from config.settings import Settings, SettingsError
from models.db import Database
from tests.bot.test_health_metrics import unreachable
from tests.support.factories import add_person, add_unit
from tests.support.webhookrig import METRICS_TOKEN, handled, webhook_bot

BOUND = 10.0  # seconds to wait at most for something that should happen (not a measure)


async def seed(rig) -> None:
    village = await add_unit(rig.db, rig.clock, code="V1", name="青山村")
    await add_person(rig.db, rig.clock, name="张三", unit=village, telegram_user_id=200)


async def connect(port: int, data: bytes = b"") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if data:
        writer.write(data)
        await writer.drain()
    return reader, writer


async def until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    return await asyncio.wait_for(reader.read(), BOUND)


def value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def open_now() -> float:
    return value("duban_web_connections", listener="webhook")


async def accepted_or_refused(reader: asyncio.StreamReader, before: float) -> bytes | None:
    """None once the server counts the new connection as open; the refusal if it answers one instead."""
    answer = asyncio.ensure_future(reader.read(64))
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        if answer.done():
            return answer.result() + await until_closed(reader)
        if open_now() > before:
            answer.cancel()
            return None
        await asyncio.sleep(0.01)  # (polling the two conditions, not waiting a fixed time)
    raise AssertionError("the connection was neither counted nor refused")


async def test_half_a_header_is_closed_after_the_header_timeout_and_the_bot_still_answers(rig) -> None:
    await seed(rig)
    async with webhook_bot(rig, county="w1", web_header_timeout=0.5) as hooked:
        before = value("duban_web_timeouts_total", listener="webhook", phase="header")
        started = time.monotonic()
        reader, writer = await connect(hooked.server.port, f"POST {hooked.path} HTTP/1.1\r\nHost: x\r\n".encode())
        assert await until_closed(reader) == b""  # closed without an answer
        assert time.monotonic() - started >= 0.5
        writer.close()
        idle, idle_writer = await connect(hooked.server.port)  # not even a byte: the same deadline
        assert await until_closed(idle) == b""
        idle_writer.close()
        assert value("duban_web_timeouts_total", listener="webhook", phase="header") - before == 2
        user = rig.fake.user(200)
        await handled(rig, await user.send_text("/help"))
        assert len(user.replies()) == 1


async def test_half_a_body_gets_408_after_the_body_timeout(rig) -> None:
    async with webhook_bot(rig, county="w2", web_body_timeout=0.5) as hooked:
        head = (f"POST {hooked.path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"{SECRET_HEADER}: {hooked.secret}\r\nContent-Length: 100\r\n\r\n").encode()
        reader, writer = await connect(hooked.server.port, head + b'{"update_id": 1')
        answer = await until_closed(reader)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert hooked.app.update_queue.qsize() == 0


async def test_connections_beyond_the_cap_are_refused_and_telegram_still_gets_through(rig) -> None:
    """A cap of 3: with two idle connections open Telegram's POST is answered; connections are refused
    with a 503 once 3 are open (the fake Telegram may or may not keep its own one open), never more
    than 3 open; once the idle ones are gone the bot answers again."""
    await seed(rig)
    async with webhook_bot(rig, county="w3", web_max_connections=3, web_header_timeout=60) as hooked:
        refused_before = value("duban_web_connections_refused_total", listener="webhook")
        port, idle, refusal = hooked.server.port, [], None
        for _ in range(2):
            before = open_now()
            idle.append(await connect(port, b"GET /healthz HTTP/1.1\r\n"))
            assert await accepted_or_refused(idle[-1][0], before) is None
        user = rig.fake.user(200)
        await handled(rig, await user.send_text("/help"))
        for _ in range(2):
            before = open_now()
            idle.append(await connect(port))
            refusal = await accepted_or_refused(idle[-1][0], before)
            assert open_now() <= 3
            if refusal is not None:
                break
        assert refusal is not None and refusal.startswith(b"HTTP/1.1 503 "), refusal
        assert value("duban_web_connections_refused_total", listener="webhook") - refused_before == 1
        for _, writer in idle:
            writer.close()
        await handled(rig, await user.send_text("/help"))
    assert len(user.replies()) == 2


async def test_health_and_metrics_on_the_webhook_port_need_the_token(rig) -> None:
    async with webhook_bot(rig, county="w4") as hooked, aiohttp.ClientSession() as s:
        for headers, status in (({}, 401), ({"Authorization": "Bearer not-the-token-at-all"}, 401),
                                ({"Authorization": f"Bearer {METRICS_TOKEN}"}, 200)):
            for what in ("healthz", "metrics"):
                async with s.get(f"{hooked.root}/{what}", headers=headers) as r:
                    assert r.status == status, (what, headers)
    async with webhook_bot(rig, county="w5", metrics_token=None) as hooked, aiohttp.ClientSession() as s:
        for what in ("healthz", "metrics"):  # no token set: not served on the webhook port at all
            async with s.get(f"{hooked.root}/{what}", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}) as r:
                assert r.status == 404


async def test_healthz_answers_from_its_last_check_within_its_time_to_live(rig, db_kind, tmp_path) -> None:
    """The answer is kept ``health_ttl`` (a second; an hour here, so that the test does not race the
    clock): a database gone meanwhile shows only once the answer has expired."""
    async with webhook_bot(rig, county="w6") as hooked:
        hooked.server.health_ttl = 3600.0
        first = await hooked.get("healthz")
        deps = hooked.app.bot_data
        good, bad = deps.db, Database(unreachable(db_kind, rig.db.url, tmp_path))
        deps.db = bad
        try:
            assert await hooked.get("healthz") == first  # not checked again
            hooked.server.health_ttl = 0.0
            status, body = await hooked.get("healthz")
        finally:
            deps.db = good
            await bad.dispose()
    assert first[0] == 200 and status == 503 and body["counties"]["w6"]["database"].startswith("error: ")


async def test_healthz_reports_the_free_disk_and_turns_unhealthy_below_the_threshold(rig) -> None:
    async with webhook_bot(rig, county="w7") as hooked:
        status, body = await hooked.get("healthz")
    w7 = body["counties"]["w7"]
    assert status == 200 and w7["disk"] == "ok" and w7["disk_free_mb"] > 0
    async with webhook_bot(rig, county="w8", health_min_free_mb=1_000_000_000) as hooked:  # a petabyte
        status, body = await hooked.get("healthz")
    w8 = body["counties"]["w8"]
    assert status == 503 and body["ok"] is False and w8["ok"] is False
    assert w8["disk"] == "low" and w8["disk_free_mb"] > 0
    assert w8["database"] == "ok"  # only the disk is wrong


def test_the_health_port_cannot_be_the_webhook_port() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    with pytest.raises(SettingsError, match="DUBAN_HEALTH_PORT"):
        WebServer(settings, host="127.0.0.1", port=8080, health_port=8080, base_path="/")
