"""``duban assess rules --check`` and the office's bonus, deduction and veto items."""

from __future__ import annotations

import argparse


def add_parsers(assess: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Subcommands of ``duban assess``."""
