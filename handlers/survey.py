"""The public satisfaction survey (群众满意度): /start s_<token> and the answer buttons, for
anyone, without registering."""

from __future__ import annotations

from telegram.ext import Application


def register(app: Application) -> None:
    """Add this feature's handlers (group 0)."""
