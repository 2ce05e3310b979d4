"""The bot under test: the real Application, polling the fake Bot API, on a real database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram.ext import Application

from bot.app.build import build_application, start_polling, stop
from bot.sandbox.botapi.server import FakeBotAPI
from config.settings import Settings
from models.db import Database
from services.core.clock import Clock

SURVEY_SECRET = "test-survey-secret-0123456789"


def make_settings(fake: FakeBotAPI, db_url: str, evidence_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "evidence_dir": evidence_dir,
        "token": fake.token,
        "database_url": db_url,
        "bot_api_base_url": f"{fake.url}/bot",
        "bot_api_file_url": f"{fake.url}/file/bot",
        "delivery_interval": 0.05,
        "per_chat_interval": 0.0,
        "tick_interval": 0.0,  # flow tests run ticks themselves, at chosen instants
        "survey_secret": SURVEY_SECRET,
        "user_rate": 0.0,  # flow tests type faster than people (tests/bot/test_fairness.py tests the throttle)
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Rig:
    fake: FakeBotAPI
    db: Database
    clock: Clock
    settings: Settings
    app: Application | None = None


@asynccontextmanager
async def running_bot(rig: Rig, **overrides: Any) -> AsyncIterator[Application]:
    """Start the bot (polling the fake) and stop it cleanly afterwards."""
    settings = rig.settings
    if overrides:
        settings = make_settings(rig.fake, rig.db.url, rig.settings.evidence_dir, **overrides)
    app = build_application(settings, rig.db, rig.clock)
    await start_polling(app, poll_timeout=1)
    rig.app = app
    try:
        yield app
    finally:
        await stop(app)
        rig.app = None


async def handled(rig: Rig, act: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    """Do ``act`` (which makes the fake queue one update) and wait until the bot has handled that update
    (for effects Telegram does not show, such as a database write)."""
    assert rig.app is not None
    processor = rig.app.update_processor
    waiter = processor.handled(rig.fake._next_update_id)  # type: ignore[attr-defined]
    result = await act()
    await asyncio.wait_for(waiter, timeout)
    return result
