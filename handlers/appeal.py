"""/appeal during public notice (公示) and the office's Accept / Reject."""

from __future__ import annotations

from telegram.ext import Application


def register(app: Application) -> None:
    """Add this feature's handlers (group 0)."""
