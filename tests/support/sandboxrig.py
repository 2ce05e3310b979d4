"""``duban sandbox`` as its user runs it: a process on a free port, the address it prints, its web chat's JSON
API, stopped by a signal (SIGTERM) or killed (SIGKILL). The demo county is built once per test run
(``demo_template``) and copied for each test."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
AT = "2026-06-15T10:00"  # a Monday; 2026's working days are known to the calendar package
ADDRESS = re.compile(r"(http://127\.0\.0\.1:\d+)")
CADRE, INSPECTOR, LEADER = 7000011, 7000006, 7000003  # 张书记 (红星村), 钱督查, 刘县长 (linked to 红星村)


def environment(home: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env["PTB_TIMEDELTA"] = "1"
    if home is not None:
        env["HOME"] = str(home)
    return env


def build_template(folder: Path, timeout: float = 400.0) -> Path:
    """Start a fresh sandbox in ``folder``, wait until its demo county is built, stop it (SIGTERM)."""
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "sandbox", "--data", str(folder), "--port", "0",
                                "--at", AT], cwd=ROOT, env=environment(), stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if "演示县已生成" in line:
                break
        else:
            raise AssertionError("the sandbox stopped before the demo county was built:\n" + "".join(lines))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout)
        process.stdout.close()
    return folder


class SandboxProcess:
    """One ``duban sandbox`` process on ``data``."""

    def __init__(self, data: Path, *args: str, command: list[str] | None = None, cwd: Path = ROOT,
                 env: dict[str, str] | None = None) -> None:
        self.command = command or [sys.executable, "-m", "bot.cli", "sandbox", "--data", str(data), "--port", "0",
                                   *args]
        self.cwd, self.env = cwd, env or environment()
        self.url = ""
        self.output: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None
        self._ready = asyncio.Event()

    async def start(self, timeout: float = 120.0) -> str:
        self.process = await asyncio.create_subprocess_exec(
            *self.command, cwd=self.cwd, env=self.env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        self._reader = asyncio.create_task(self._read())
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            raise AssertionError("no address printed:\n" + "".join(self.output[-60:])) from None
        return self.url

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace")
            self.output.append(line)
            found = ADDRESS.search(line)
            if found and not self.url and "DUBAN_" not in line:
                self.url = found.group(1)
                self._ready.set()

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Signal the whole process group (run.sh's children too); the exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
        code = await asyncio.wait_for(self.process.wait(), timeout)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 5)
        return code

    async def __aenter__(self) -> SandboxProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None and self.process.returncode is None:
            await self.stop()

    # ------------------------------------------------------------------ the web chat's API
    async def call(self, method: str, path: str, body: dict | None = None) -> Any:
        async with aiohttp.ClientSession() as session, session.request(method, self.url + path, json=body) as r:
            assert r.status == 200, (r.status, await r.text())
            return await r.json()

    async def say(self, person: int, text: str) -> None:
        await self.call("POST", f"/api/chat/{person}/text", {"text": text})

    async def chat(self, person: int) -> list[dict]:
        return (await self.call("GET", f"/api/chat/{person}"))["messages"]

    async def wait_for(self, person: int, check: Callable[[dict], bool], since: int = 0,
                       timeout: float = 20.0) -> dict:
        """The newest message of the person's chat (after its first ``since``) that passes ``check``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            messages = await self.chat(person)
            found = [m for m in messages[since:] if check(m)]
            if found:
                return found[-1]
            if loop.time() > deadline:
                raise AssertionError(f"nothing matching in chat {person}: {[m.get('html') for m in messages[-5:]]}")
            await asyncio.sleep(0.2)


def copy_template(template: Path, target: Path) -> Path:
    shutil.copytree(template, target)
    return target
