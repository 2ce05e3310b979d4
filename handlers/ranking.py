"""/ranking [class]: the ranking table and its bar chart, for admins and leaders."""

from __future__ import annotations

from telegram.ext import Application


def register(app: Application) -> None:
    """Add this feature's handlers (group 0)."""
