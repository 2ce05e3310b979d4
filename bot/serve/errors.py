"""Errors of the serving side, each named for what went wrong. The command line maps them to messages
and exit codes (bot/cli/errors.py); nothing here knows about exit codes."""

from __future__ import annotations

from pathlib import Path


class ServeError(Exception):
    """The serving side refuses to start or to act."""


class BadWebhookUrl(ServeError):
    """``--webhook`` is not an absolute http(s) URL without query or fragment."""

    def __init__(self, url: str) -> None:
        super().__init__(f"--webhook {url!r} is not a public URL such as https://example.org/duban")
        self.url = url


class CountiesError(ServeError):
    """Every problem of a counties file, one line each: ``<code>: <field>: <problem>``."""

    def __init__(self, problems: list[str], path: Path | None = None) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
        self.path = path


class BackupError(ServeError):
    """A backup or restore that cannot be done; the text says why (in the operator's language)."""
