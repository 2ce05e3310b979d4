"""/adjust <target code>: a cadre asks to change a planned value or deadline; the office decides."""

from __future__ import annotations

from telegram.ext import Application


def register(app: Application) -> None:
    """Add this feature's handlers (group 0)."""
