"""Production operation from the command line: ``duban counties check``, ``duban backup``,
``duban restore`` (and ``duban migrate --counties``)."""

from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Top-level subcommands."""
