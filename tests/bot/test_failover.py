"""Failover: a bot is active in exactly one process; when that process dies (kill -9) a standby takes
over, the cadre's dialogue goes on, no queued message is lost and only rows in flight may repeat.

Real `duban run` subprocesses against the fake Bot API and a real database; every wait is for an
event (a log line, a reply) with a generous timeout, never a timed assertion.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from sqlmodel import col, select

from models.core import OutboxMessage
from models.enums import OutboxStatus
from services.core import outbox, updates
from tests.progress.test_report import reports, seed

ROOT = Path(__file__).resolve().parents[2]


class BotProcess:
    """A `duban ...` subprocess whose log (stderr) is read line by line as it comes."""

    def __init__(self, proc: asyncio.subprocess.Process, log_path: Path) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._log_path = log_path
        self._cond = asyncio.Condition()
        self._eof = False
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, rig, tmp_path: Path, *argv: str, name: str, **env: str) -> BotProcess:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
        environ.update({
            "DUBAN_TOKEN": rig.fake.token,
            "DUBAN_DATABASE_URL": rig.db.url,
            "DUBAN_BOT_API_BASE_URL": f"{rig.fake.url}/bot",
            "DUBAN_BOT_API_FILE_URL": f"{rig.fake.url}/file/bot",
            "DUBAN_PER_CHAT_INTERVAL": "0",
            "DUBAN_DELIVERY_INTERVAL": "0.1",
            "DUBAN_TICK_INTERVAL": "0",
            "PTB_TIMEDELTA": "1",
            "PYTHONPATH": str(ROOT),
            **env,
        })
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", *argv, cwd=tmp_path, env=environ,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc, tmp_path / f"{name}.log")

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        with self._log_path.open("a", encoding="utf-8") as log:
            async for raw in self.proc.stderr:
                line = raw.decode("utf-8", "replace").rstrip()
                log.write(line + "\n")
                async with self._cond:
                    self.lines.append(line)
                    self._cond.notify_all()
        async with self._cond:
            self._eof = True
            self._cond.notify_all()

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    async def wait_log(self, text: str, *, times: int = 1, timeout: float = 60.0) -> None:
        async with self._cond:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._cond.wait_for(lambda: self.count(text) >= times or self._eof), timeout)
        if self.count(text) < times:
            raise AssertionError(f"no log line {text!r} (x{times}); the log:\n" + "\n".join(self.lines[-40:]))

    async def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        await self._reader

    async def terminate(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), 60)
        await self._reader
        return code


def write_counties(rig, tmp_path: Path) -> Path:
    path = tmp_path / "counties.toml"
    path.write_text(
        f'[[county]]\ncode = "lx"\nname = "灵溪县"\ntoken_env = "DUBAN_TOKEN_LX"\ndatabase_url = "{rig.db.url}"\n'
        f'bot_username = "{rig.fake.bot_username}"\nbot_api_base_url = "{rig.fake.url}/bot"\n'
        f'bot_api_file_url = "{rig.fake.url}/file/bot"\n', encoding="utf-8")
    return path


async def start_county_pair(rig, tmp_path: Path, **env: str) -> tuple[BotProcess, BotProcess]:
    """Two `duban run --counties` processes for one county: the first active, the second standby."""
    path = write_counties(rig, tmp_path)
    env = {"DUBAN_TOKEN_LX": rig.fake.token, **env}
    first = await BotProcess.start(rig, tmp_path, "run", "--counties", str(path), name="first", **env)
    await first.wait_log("lx: active (polling)")
    second = await BotProcess.start(rig, tmp_path, "run", "--counties", str(path), name="second", **env)
    await second.wait_log("lx: standby")
    return first, second


async def test_a_second_duban_run_on_the_same_database_waits_until_the_first_is_gone(rig, tmp_path) -> None:
    """SQLite: a flock on <db>.lock; PostgreSQL: the advisory lock. Only one process polls."""
    from tests.bot.test_webhook_cli import free_port

    ports = free_port(), free_port()  # DUBAN_HEALTH_PORT: /healthz and /metrics in polling mode too
    first = await BotProcess.start(rig, tmp_path, "run", name="first", DUBAN_HEALTH_PORT=str(ports[0]))
    second = None
    try:
        await first.wait_log("Duban is running (polling)")
        second = await BotProcess.start(rig, tmp_path, "run", name="second", DUBAN_HEALTH_PORT=str(ports[1]))
        await second.wait_log("default: standby (another process holds the")
        async with aiohttp.ClientSession() as s:
            async with s.get(f"http://127.0.0.1:{ports[0]}/healthz") as r:
                active = await r.json()
            async with s.get(f"http://127.0.0.1:{ports[1]}/healthz") as r:
                standby = await r.json()
            async with s.get(f"http://127.0.0.1:{ports[0]}/metrics") as r:
                assert 'duban_county_active{county="default"} 1.0' in await r.text()
        assert active["counties"]["default"]["database"] == "ok" and active["standby"] == []
        assert standby["counties"] == {} and standby["standby"] == ["default"]
        user = rig.fake.user(77, "Stranger")
        sent = await user.send_text("/start")
        await user.wait_reply(timeout=30)
        # The id is recorded just after the answer: killed in between, the first would leave /start to be
        # answered again (a crash's known window, not two bots polling), so the kill waits for the record.
        for _ in range(200):
            if await updates.is_handled(sent.update_id, uow=rig.db.read_uow()):
                break
            await asyncio.sleep(0.05)
        assert second.count("Duban is running") == 0  # still waiting, not polling
        await first.kill()
        await second.wait_log("Duban is running (polling)")  # took over once the first was gone
        await user.send_text("/help")
        await user.wait_reply(timeout=30)
    finally:
        if first.proc.returncode is None:
            await first.kill()
        if second is not None:
            assert await second.terminate() == 0, "\n".join(second.lines[-30:])
    assert len(user.replies()) == 2  # one answer to each message: never two bots polling


@pytest.mark.postgres_only
async def test_kill_9_mid_report_the_standby_takes_over_and_the_cadre_finishes(db_kind, rig, tmp_path) -> None:
    rig.clock.set(datetime.now(rig.clock.tz))  # the bot processes run on the real clock
    await seed(rig)
    user = rig.fake.user(200)
    first, second = await start_county_pair(rig, tmp_path)
    try:
        await user.send_text("/report T1")
        await user.wait_reply(timeout=30)
        await user.send_text("260")
        assert "260 万元" in (await user.wait_reply(timeout=30)).text
        await first.kill()
        # The standby takes the lock within seconds (it retries every 2 s) and carries on at the same step.
        await second.wait_log("lx: active (polling)", timeout=30)
        await user.send_text("/skip")
        assert "佐证" in (await user.wait_reply(timeout=30)).text
        await user.send_text("/done")
        summary = await user.wait_reply(timeout=30)
        assert "260 万元" in summary.text
        await user.press_button(summary, "确认提交")
        assert "已提交" in (await user.wait_reply(timeout=30)).text
    finally:
        if first.proc.returncode is None:
            await first.kill()
        assert await second.terminate() == 0, "\n".join(second.lines[-30:])
    assert [r.value for r in await reports(rig)] == [Decimal(260)]  # stored once


@pytest.mark.postgres_only
async def test_kill_9_mid_outbox_burst_loses_nothing_and_repeats_only_rows_in_flight(db_kind, rig, tmp_path) -> None:
    rig.clock.set(datetime.now(rig.clock.tz))
    chats = [5000 + i for i in range(20)]
    async with rig.db.uow() as uow:
        for n in range(200):
            await outbox.enqueue(uow.session, rig.clock, chat_id=chats[n % 20], text=f"提醒 #{n:03d}", kind="test")
        await uow.commit()
    # Every send takes 0.4 s at the fake: about a batch of rows is always in flight.
    rig.fake.delay_next("sendMessage", 0.4, times=10_000)
    first, second = await start_county_pair(rig, tmp_path)
    try:
        await rig.fake.wait_until(lambda: len(rig.fake.sent) >= 60, timeout=60, what="60 messages sent")
        await first.kill()
        killed_at = len(rig.fake.requests)
        await second.wait_log("lx: active (polling)", timeout=30)
        await rig.fake.wait_until(lambda: len({m.text for m in rig.fake.sent}) >= 200, timeout=120,
                                  what="all 200 rows sent")
    finally:
        if first.proc.returncode is None:
            await first.kill()
        assert await second.terminate() == 0, "\n".join(second.lines[-30:])
    # The first process's requests end where the second one's start (its getMe, after the kill).
    second_start = next(i for i, (method, _) in enumerate(rig.fake.requests) if i >= killed_at and method == "getMe")
    sent_by_first = {p["text"] for method, p in rig.fake.requests[:second_start] if method == "sendMessage"}
    counts = Counter(m.text for m in rig.fake.sent)
    repeated = {text for text, n in counts.items() if n > 1}
    async with rig.db.uow() as uow:
        rows = (await uow.session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    assert len(rows) == 200 and all(r.status == OutboxStatus.SENT for r in rows)
    assert set(counts) == {r.text for r in rows}  # no row lost
    assert all(n <= 2 for n in counts.values())
    # Only rows the dead process had sent (or was sending) but not yet marked as sent can repeat:
    # at most one batch (the rate, 20 rows a second, is what is leased at a time).
    assert repeated <= sent_by_first
    assert len(repeated) <= 20
    # ... and exactly those the standby found leased by the dead process when it took over.
    (line,) = [line for line in second.lines if "were in flight in the previous holder" in line]
    in_flight = {int(i) for i in re.search(r"ids \[([\d, ]+)\]", line)[1].split(",")}
    assert repeated <= {r.text for r in rows if r.id in in_flight}
    # Each chat still got its messages in order.
    for chat in chats:
        texts = [m.text for m in rig.fake.messages_to(chat)]
        firsts = [t for i, t in enumerate(texts) if t not in texts[:i]]
        assert firsts == sorted(firsts)


@pytest.mark.postgres_only
async def test_a_process_that_loses_its_lock_stops_the_county_at_once_and_stands_by(db_kind, rig) -> None:
    import asyncpg

    from bot.serve.failover import PgLock, pg_dsn
    from bot.serve.runner import CountyRunner

    stop = asyncio.Event()
    runner = CountyRunner("lx", rig.settings, stop, clock=rig.clock, retry=0.5)
    service = asyncio.create_task(runner.run())
    other = PgLock(rig.db.url)
    try:
        await asyncio.wait_for(runner.active.wait(), 30)
        user = rig.fake.user(88)
        await user.send_text("/start")
        await user.wait_reply(timeout=30)
        # The database ends the lock's session (as after a network split or a server restart) and
        # another process takes the lock at once.
        admin = await asyncpg.connect(pg_dsn(rig.db.url))
        try:
            ended = await admin.fetchval("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                         "WHERE application_name = 'duban-lock' AND datname = current_database()")
        finally:
            await admin.close()
        assert ended == 1
        assert await other.try_acquire()
        await asyncio.wait_for(runner.stopped.wait(), 30)  # it noticed and stopped serving
        assert not runner.active.is_set() and runner.starts == 1
        await other.release()  # the other process goes away: this one takes the county back
        await asyncio.wait_for(runner.active.wait(), 30)
        assert runner.starts == 2
        await user.send_text("/help")
        await user.wait_reply(timeout=30)
    finally:
        await other.release()
        stop.set()
        await asyncio.wait_for(service, 60)
    assert len(user.replies()) == 2


async def test_a_second_webhook_process_stands_by_answering_503_and_takes_over(rig, tmp_path) -> None:
    """`duban run --webhook` takes the same lock: the standby's path answers 503 (Telegram retries), and
    when the holder dies the standby sets the webhook to its own URL and answers."""
    from bot.serve.web import SECRET_HEADER, webhook_secret
    from config.settings import Settings
    from tests.bot.test_webhook_cli import SECRET, free_port

    token = "a-token-for-the-monitoring"
    env = {"DUBAN_WEBHOOK_SECRET": SECRET, "DUBAN_METRICS_TOKEN": token}
    ports = free_port(), free_port()
    urls = [f"http://127.0.0.1:{port}/duban" for port in ports]
    first = await BotProcess.start(rig, tmp_path, "run", "--webhook", urls[0], name="first",
                                   DUBAN_WEBHOOK_PORT=str(ports[0]), **env)
    second = None
    user = rig.fake.user(77, "Stranger")
    try:
        await first.wait_log("Duban is running (webhook")
        second = await BotProcess.start(rig, tmp_path, "run", "--webhook", urls[1], name="second",
                                        DUBAN_WEBHOOK_PORT=str(ports[1]), **env)
        await second.wait_log("default: standby (another process holds the")
        secret = webhook_secret(Settings(webhook_secret=SECRET, _env_file=None))  # type: ignore[call-arg]
        async with aiohttp.ClientSession() as s:
            async with s.post(urls[1], json={"update_id": 1}, headers={SECRET_HEADER: secret}) as r:
                assert r.status == 503  # held elsewhere: nothing queued here
            async with s.get(f"http://127.0.0.1:{ports[1]}/healthz",
                             headers={"Authorization": f"Bearer {token}"}) as r:  # on the webhook port: the token
                assert (await r.json())["standby"] == ["default"]
        await user.send_text("/start")
        await user.wait_reply(timeout=30)
        assert rig.fake.webhook["url"] == urls[0]
        await first.kill()
        await second.wait_log("Duban is running (webhook")
        await rig.fake.wait_until(lambda: (rig.fake.webhook or {}).get("url") == urls[1], what="the new webhook")
        await user.send_text("/help")
        await user.wait_reply(timeout=30)
    finally:
        if first.proc.returncode is None:
            await first.kill()
        if second is not None:
            assert await second.terminate() == 0, "\n".join(second.lines[-30:])
    assert len(user.replies()) == 2
