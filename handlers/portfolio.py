"""/portfolio: a leader's linked items (联系点) and group line with pace and alerts."""

from __future__ import annotations

from telegram.ext import Application


def register(app: Application) -> None:
    """Add this feature's handlers (group 0)."""
