"""``duban assess …`` and ``duban survey …``: the year-end assessment from the command line. Each part
of the assessment adds its own subcommands (rules and items; the round and the survey; results)."""

from __future__ import annotations

import argparse

from bot.cli import results, rounds, scoring


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    assess = sub.add_parser("assess", help="the year-end assessment (考核)").add_subparsers(dest="sub", required=True)
    scoring.add_parsers(assess)
    rounds.add_parsers(assess, sub)
    results.add_parsers(assess)
