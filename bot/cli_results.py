"""``duban assess publish|close|reopen|export``: results, public notice, freezing."""

from __future__ import annotations

import argparse


def add_parsers(assess: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Subcommands of ``duban assess``."""
