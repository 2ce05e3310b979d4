"""A real browser for tests: Playwright for Python driving Debian's Chromium (``apt-get install chromium``),
launched from its path since nothing may be downloaded at run time (never ``playwright install``).

``browser`` (a fixture, registered in tests/conftest.py) gives a launched Chromium; ``watched_page`` opens a
page that records console errors and uncaught exceptions, so that a test can insist there were none.
Screenshots go to ``ARTIFACTS`` (tests/artifacts/, ignored by git). Without /usr/bin/chromium the tests fail
with a message that says what to install (in CI too: .ci/run installs it first)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

CHROMIUM = os.environ.get("DUBAN_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def chromium_path() -> str:
    path = shutil.which(CHROMIUM) or (CHROMIUM if os.access(CHROMIUM, os.X_OK) else None)
    if path is None:
        pytest.fail(f"the browser tests need Chromium at {CHROMIUM}: install it with `apt-get install -y chromium` "
                    "(or point DUBAN_TEST_CHROMIUM at a Chromium); nothing is downloaded at run time", pytrace=False)
    return path


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A launched headless Chromium (closed after the test)."""
    path = chromium_path()
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=path, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Watched:
    page: Page
    errors: list[str] = field(default_factory=list)


async def watched_page(browser: Browser, *, width: int = 1280, height: int = 800, **options: object) -> Watched:
    """A page in a fresh context (its own cookies) whose console errors and page errors are recorded."""
    context = await browser.new_context(viewport={"width": width, "height": height}, **options)  # type: ignore[arg-type]
    page = await context.new_page()
    watched = Watched(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: watched.errors.append(f"page error: {exc}"))
    return watched


def artifact(name: str) -> Path:
    """Where a test writes a screenshot (the folder is made on demand)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name
