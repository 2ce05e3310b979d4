"""/score [unit]: a unit's whole breakdown (assignments, components, items, survey, grade, rank)."""

from __future__ import annotations

from telegram.ext import Application


def register(app: Application) -> None:
    """Add this feature's handlers (group 0)."""
