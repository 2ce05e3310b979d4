"""Shared fixtures: a migrated database per test (SQLite always, PostgreSQL when configured).

Migrations run once per test run into a template; each test gets a copy (SQLite: a file copy,
PostgreSQL: CREATE DATABASE ... TEMPLATE), so tests never share or clean up a live database.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.sandbox.botapi.server import FakeBotAPI
from models.db import Database, make_engine
from models.migrate import upgrade
from services.core.clock import FixedClock
from tests.support.botrig import SURVEY_SECRET, Rig, make_settings, running_bot
from tests.support.browser import browser  # noqa: F401  (a fixture: a launched Chromium)
from tests.support.clirig import Cli

os.environ.setdefault("PTB_TIMEDELTA", "1")

PG_URL = os.environ.get("DUBAN_TEST_POSTGRES_URL", "").strip()
TZ = ZoneInfo("Asia/Shanghai")
_counter = itertools.count()


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("CI") == "true" and not PG_URL:
        pytest.exit("CI=true but DUBAN_TEST_POSTGRES_URL is not set: PostgreSQL must be tested in CI", returncode=3)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres_only: a test of PostgreSQL-only behaviour (not run on SQLite)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_kind" in metafunc.fixturenames:
        kinds = ["sqlite", "postgres"] if PG_URL else ["sqlite"]
        if metafunc.definition.get_closest_marker("postgres_only"):
            kinds = ["postgres"] if PG_URL else []
        metafunc.parametrize("db_kind", kinds, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without PostgreSQL, PostgreSQL-only tests are deselected (there is nothing to run), not skipped."""
    if PG_URL:
        return
    chosen = [i for i in items if not i.get_closest_marker("postgres_only")]
    if len(chosen) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i.get_closest_marker("postgres_only")])
        items[:] = chosen


def _run(coro_fn) -> None:  # type: ignore[no-untyped-def]
    """Run a coroutine to completion in its own thread and loop (fixtures may be asked from a loop)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(coro_fn())).result()


def _pg_dsn(url: str, database: str | None = None) -> str:
    u = make_url(url)
    if database is not None:
        u = u.set(database=database)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


async def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    _run(lambda: _migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template() -> str:
    if not PG_URL:
        raise RuntimeError("DUBAN_TEST_POSTGRES_URL is not set")
    name = f"duban_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def create() -> None:
        conn = await asyncpg.connect(_pg_dsn(PG_URL))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        await _migrate(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))

    _run(create)
    yield name

    async def drop() -> None:
        conn = await asyncpg.connect(_pg_dsn(PG_URL))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    _run(drop)


@pytest.fixture
async def db_url(db_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a freshly migrated database of the kind under test."""
    if db_kind == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "duban.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template_name: str = request.getfixturevalue("postgres_template")
    name = f"duban_t_{os.getpid()}_{next(_counter)}"
    admin = await asyncpg.connect(_pg_dsn(PG_URL))
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    finally:
        await admin.close()
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    admin = await asyncpg.connect(_pg_dsn(PG_URL))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    db = Database(db_url)
    yield db
    await db.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2027, 3, 22, 9, 0, tzinfo=TZ), TZ)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
async def rig(fake: FakeBotAPI, database: Database, clock: FixedClock, tmp_path: Path) -> Rig:
    settings = make_settings(fake, database.url, tmp_path / "evidence")
    return Rig(fake=fake, db=database, clock=clock, settings=settings)


@pytest.fixture
async def bot(rig: Rig) -> AsyncIterator[Rig]:
    """The running bot; ``bot.fake`` acts as Telegram and its users."""
    async with running_bot(rig):
        yield rig


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, rig: Rig) -> Cli:
    """The command line, configured for the database and fake Bot API of this test."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    for key in [k for k in os.environ if k.startswith("DUBAN_") and k != "DUBAN_TEST_POSTGRES_URL"]:
        monkeypatch.delenv(key)
    return Cli(monkeypatch, capsys, {
        "DUBAN_TOKEN": rig.fake.token,
        "DUBAN_DATABASE_URL": rig.db.url,
        "DUBAN_BOT_API_BASE_URL": f"{rig.fake.url}/bot",
        "DUBAN_BOT_API_FILE_URL": f"{rig.fake.url}/file/bot",
        "DUBAN_SURVEY_SECRET": SURVEY_SECRET,
    })
