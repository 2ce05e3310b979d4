"""Run the ``duban`` command line in-process, as a user would from a shell."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import pytest

from bot.cli.main import main
from services.core.clock import Clock, FixedClock


@dataclass
class CliResult:
    code: int
    out: str
    err: str


class Cli:
    """``await cli("invite", "create", ...)`` with the environment given by ``env``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict[str, str]):
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        self.env = env
        self.clock: Clock | None = None  # what "now" is to the command (the system's clock when None)

    async def __call__(self, *argv: str, **extra_env: str) -> CliResult:
        with self.monkeypatch.context() as mp:
            for key, value in {**self.env, **extra_env}.items():
                mp.setenv(key, value)
            self.capsys.readouterr()
            # The CLI runs its own event loop (asyncio.run), so it gets a thread of its own.
            code = await asyncio.to_thread(main, list(argv), clock=self.clock)
            captured = self.capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    async def tick_at(self, clock: FixedClock, when: str, *more: str) -> CliResult:
        """``duban jobs tick --at WHEN`` run at that very instant (a real tick may not look ahead of now)."""
        moment = datetime.fromisoformat(when)
        clock.set(moment if moment.tzinfo else moment.replace(tzinfo=clock.tz))
        self.clock = clock
        try:
            return await self("jobs", "tick", "--at", when, *more)
        finally:
            self.clock = None
