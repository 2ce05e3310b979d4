"""Run the ``duban`` command line in-process, as a user would from a shell."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from bot.cli.main import main


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

    async def __call__(self, *argv: str, **extra_env: str) -> CliResult:
        with self.monkeypatch.context() as mp:
            for key, value in {**self.env, **extra_env}.items():
                mp.setenv(key, value)
            self.capsys.readouterr()
            # The CLI runs its own event loop (asyncio.run), so it gets a thread of its own.
            code = await asyncio.to_thread(main, list(argv))
            captured = self.capsys.readouterr()
        return CliResult(code, captured.out, captured.err)
