"""One sandbox: the local Bot API and the web chat on one port, the real bot polling that Bot API on its own
database with the movable clock, the demo county built on first start. ``duban sandbox`` runs one until
stopped (bot/cli/sandbox.py)."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from telegram.ext import Application

from bot.app import jobs
from bot.app.build import build_application, start_polling, stop
from bot.sandbox import clock as moves
from bot.sandbox.botapi.chats import FakeUser
from bot.sandbox.botapi.server import FakeBotAPI
from bot.sandbox.clock import MovableClock
from bot.sandbox.journal import Journal
from bot.sandbox.state import Persona, State
from bot.serve.dashboard import Dashboard
from config.settings import Settings
from models.db import Database
from models.migrate import upgrade
from services.calendar.workdays import load_calendar

log = logging.getLogger("duban.sandbox")

TOKEN = "100000001:SANDBOX-duban-local-only"
USERNAME = "duban_sandbox_bot"
STEPS = ("day", "week", "year_end")


@dataclass(frozen=True)
class Paths:
    """Where a sandbox keeps its data (never a real county's): ``--data DIR``."""

    data: Path

    @property
    def database(self) -> Path:
        return self.data / "sandbox.db"

    @property
    def evidence(self) -> Path:
        return self.data / "sandbox-evidence"

    @property
    def botapi(self) -> Path:
        return self.data / "sandbox-botapi"

    @property
    def state(self) -> Path:
        return self.data / "sandbox.json"

    def database_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.database.resolve()}"

    def wipe(self) -> None:
        """``--fresh``: the sandbox's files only (a real database beside them is left alone)."""
        for path in (self.database, self.database.with_name("sandbox.db-wal"),
                     self.database.with_name("sandbox.db-shm"), self.state):
            path.unlink(missing_ok=True)
        for folder in (self.evidence, self.botapi):
            shutil.rmtree(folder, ignore_errors=True)


def environment(paths: Paths, url: str | None = None, database_url: str | None = None) -> dict[str, str]:
    """The settings under which ``duban …`` commands work against this sandbox (printed at start)."""
    env = {"DUBAN_DATABASE_URL": database_url or paths.database_url(),
           "DUBAN_EVIDENCE_DIR": str(paths.evidence.resolve()), "DUBAN_TOKEN": TOKEN,
           "DUBAN_BOT_USERNAME": USERNAME}
    if url:
        env |= {"DUBAN_BOT_API_BASE_URL": f"{url}/bot", "DUBAN_BOT_API_FILE_URL": f"{url}/file/bot"}
    return env


class Sandbox:
    """Start with :meth:`start`, stop with :meth:`stop`; the web chat (bot/sandbox/web.py) acts through it."""

    def __init__(self, paths: Paths, *, host: str = "127.0.0.1", port: int = 8090, at: datetime | None = None,
                 fresh: bool = False, database_url: str | None = None, locale: str = "zh",
                 tz: ZoneInfo | None = None, tick_interval: float = 60.0,
                 make_app: Callable[[Sandbox], web.Application],
                 demo: Callable[[Sandbox], Awaitable[None]] | None = None) -> None:
        """``make_app``: the web chat's application (bot/sandbox/web.py); ``demo``: builds the demo county
        on first start (bot/sandbox/demo.py; None: an empty county). bot/sandbox/run.py wires them."""
        self.paths, self.host, self.port, self.at, self.fresh = paths, host, port, at, fresh
        self.database_url = database_url or paths.database_url()
        self.locale = locale
        self.tz = tz or ZoneInfo("Asia/Shanghai")
        self.make_app, self.demo = make_app, demo
        self.tick_interval = tick_interval
        self.state = State()
        self.fake = FakeBotAPI(TOKEN, USERNAME, 100000001, bot_first_name="督办 Duban (sandbox)")
        self.journal = Journal(paths.botapi)
        self.clock = MovableClock(self.tz)
        self.db: Database | None = None
        self.app: Application | None = None
        self.settings: Settings | None = None
        self.url = ""
        self.moving = asyncio.Lock()
        self._runner: web.AppRunner | None = None
        self._users: dict[int, FakeUser] = {}

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        if self.fresh or State.load(self.paths.state).demo == "building":  # an interrupted first start too
            self.paths.wipe()
        self.paths.data.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.state = State.load(self.paths.state)
        self.journal.restore(self.fake)
        if self.at is not None:
            start = self.at if self.at.tzinfo else self.at.replace(tzinfo=self.tz)
        elif self.state.clock_at:  # the clock stood still while the sandbox was away (a kill: since its last act)
            start = max(datetime.fromisoformat(self.state.clock_at),
                        datetime.fromtimestamp(self.journal.last_time, self.tz))
        else:
            start = datetime.now(self.tz)
        self.clock = MovableClock.starting_at(start, self.tz)
        self.fake.clock_now = self.clock.timestamp
        self.journal.attach(self.fake)
        app = self.make_app(self)
        # The leaders' dashboard on the same port (DUBAN_PUBLIC_URL is the sandbox's address): /dashboard in the
        # chat gives its one-time link, and the page opens it in another tab.
        Dashboard(lambda key: self.app.bot_data if self.app is not None else None).add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        self.url = f"http://{shown}:{self.port}"
        self.fake.url = f"http://127.0.0.1:{self.port}"
        self.settings = Settings(
            token=TOKEN, bot_username=USERNAME, database_url=self.database_url, evidence_dir=self.paths.evidence,
            bot_api_base_url=f"{self.fake.url}/bot", bot_api_file_url=f"{self.fake.url}/file/bot",
            locale=self.locale, survey_secret=self.state.survey_secret, public_url=self.url, per_chat_interval=0.0,
            delivery_interval=0.2, user_rate=0.0, stranger_reply_interval=0.0, admin_ids=[], _env_file=None,
            tick_interval=0.0,  # the repeating tick starts once the demo county is complete (schedule_ticks)
        )
        self.db = Database(self.database_url)
        await upgrade(self.db.engine)
        self.app = build_application(self.settings, self.db, self.clock, bot_username=USERNAME, county="sandbox")
        await start_polling(self.app, poll_timeout=10)
        if not self.needs_demo:
            self.schedule_ticks()
        self.save()

    def schedule_ticks(self) -> None:
        """The scheduler's repeating tick (every ``tick_interval`` real seconds, at the movable clock's time)."""
        assert self.app is not None and self.settings is not None
        jobs.schedule(self.app, self.settings.model_copy(update={"tick_interval": self.tick_interval}))

    @property
    def needs_demo(self) -> bool:
        return self.demo is not None and self.state.demo != "done"

    async def build_demo(self) -> None:
        """The demo county, on first start (or after an interrupted first start: begun again with --fresh)."""
        assert self.demo is not None
        await self.demo(self)
        self.schedule_ticks()
        self.save()

    async def stop(self) -> None:
        if self.app is not None:
            await stop(self.app)
            self.app = None
        self.save()
        await self.fake.stop()  # releases the long polls
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        self.journal.close()
        if self.db is not None:
            await self.db.dispose()
            self.db = None

    def save(self) -> None:
        self.state.clock_at = self.clock.now().isoformat()
        self.state.save(self.paths.state)

    # ------------------------------------------------------------------ people
    def user(self, persona: Persona) -> FakeUser:
        """The persona's Telegram account at the local Bot API."""
        user = self._users.get(persona.id)
        if user is None or user.user.get("language_code") != persona.lang:
            user = self.fake.user(persona.id, persona.name, language_code=persona.lang)
            self._users[persona.id] = user
        return user

    # ------------------------------------------------------------------ the clock
    async def move(self, step: str) -> datetime:
        """Move the clock (``day``: 09:00 of the next working day, ``week``, ``year_end``), running the
        scheduler's tick on each working day passed (each week on spans over a month) and at the end."""
        assert self.db is not None and self.settings is not None and self.app is not None
        async with self.moving:
            calendar = await load_calendar(uow=self.db.read_uow())
            now = self.clock.now()
            target = {"day": moves.next_working_day, "week": moves.next_week,
                      "year_end": moves.year_end}[step](now, calendar)
            stride = 1 if target - now <= timedelta(days=31) else 7
            instant = moves.next_working_day(now, calendar)
            while instant < target:
                await self.tick_at(instant)
                instant = moves.next_working_day(instant + timedelta(days=stride - 1), calendar)
            await self.tick_at(target)
            self.save()
            return target

    async def tick_at(self, instant: datetime) -> Any:
        """Move the clock to ``instant`` and run the scheduler's work there (as its repeating job does)."""
        assert self.db is not None and self.settings is not None and self.app is not None
        self.clock.move_to(instant)
        work = await jobs.run_scheduled(instant, db=self.db, settings=self.settings, clock=self.clock,
                                        county="sandbox")
        self.app.bot_data.delivery.wake()
        for listener in self.fake.listeners:
            listener("clock", instant)
        return work
