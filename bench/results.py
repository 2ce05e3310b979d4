"""The results of bench/report_flow.py's runs (also bench/webhook.py's) and how they are printed against the
issue's goals."""

from __future__ import annotations

import argparse
import math
from typing import NamedTuple


class Result(NamedTuple):
    label: str
    updates: int
    rate: float  # answered updates a second
    p50: float  # ms
    p99: float
    bot_cpu: float  # share of one core
    fake_cpu: float  # the fake and the simulated cadres (this process)
    late: int  # open loop: updates that had to wait for an earlier answer of their cadre
    rss: float = 0.0  # MiB resident in the bot's process at the end of the phase (0: not measured)
    connections: int = 0  # PostgreSQL: the server's client connections at the end of the phase (0: not measured)


def percentile(values: list[float], q: float) -> float:  # nearest rank
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else float("nan")


def report(results: list[Result], args: argparse.Namespace) -> None:
    print(f"\n{'run':<30}{'updates':>8}{'upd/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'bot CPU':>9}{'CPU/upd':>9}"
          f"{'fake CPU':>9}{'late':>6}")
    for r in results:
        print(f"{r.label:<30}{r.updates:>8}{r.rate:>8.1f}{r.p50:>9.1f}{r.p99:>9.1f}{r.bot_cpu:>9.0%}"
              f"{cpu_per_update(r):>7.1f}ms{r.fake_cpu:>9.0%}{r.late:>6}")
    by, verdict = {r.label: r for r in results}, {True: "met", False: "NOT met"}
    echo, echo_alone = by.get("echo saturation"), by.get("echo alone")
    for kind in ("duban", "duban-unlimited"):
        sat, alone = by.get(f"{kind} saturation"), by.get(f"{kind} alone")
        if kind == "duban-unlimited" and sat is not None and echo is not None and cpu_per_update(echo):
            ratio = cpu_per_update(sat) / cpu_per_update(echo)
            print(f"{kind}: {cpu_per_update(sat):.1f} ms of CPU per update, {ratio:.1f}× the echo bot's "
                  f"{cpu_per_update(echo):.1f} ms (goal ≤ 3×: {verdict[ratio <= 3]})")
        if alone is not None and echo_alone is not None and echo_alone.p50:
            ratio = alone.p50 / echo_alone.p50
            print(f"{kind}: one cadre alone p50 {alone.p50:.1f} ms, {ratio:.1f}× the echo bot's "
                  f"{echo_alone.p50:.1f} ms "
                  f"(goal ≤ 3×: {verdict[ratio <= 3]})")
        if kind == "duban" and (ol := by.get(f"{kind} open {args.rate:g}/s")) is not None:
            print(f"{kind}: p99 {ol.p99:.0f} ms at {args.rate:g} updates/s (goal < 150 ms at 25/s: "
                  f"{verdict[ol.p99 < 150 and not ol.late]}{', ' + str(ol.late) + ' late' if ol.late else ''})")


def cpu_per_update(r: Result) -> float:
    """Milliseconds of the bot's CPU per answered update."""
    return r.bot_cpu / r.rate * 1000 if r.rate else float("nan")
