"""``duban assess open`` (draw the peer and inspection samples) and ``duban survey qr``."""

from __future__ import annotations

import argparse


def add_parsers(assess: argparse._SubParsersAction, top: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Subcommands of ``duban assess``; ``top`` is the top level (for ``duban survey``)."""
