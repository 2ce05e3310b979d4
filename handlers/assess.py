"""Cross assessment (交叉考核) and inspection assessment (巡察考核): the scoring conversation
of assessors and inspection-group members, /assess."""

from __future__ import annotations

from telegram.ext import Application


def register(app: Application) -> None:
    """Add this feature's handlers (group 0)."""
