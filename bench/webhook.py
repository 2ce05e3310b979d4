"""Benchmark (not a test): the /report dialogues of bench/report_flow.py through the webhook server, for
one county and for 20 counties in one process, beside the polling bot, in the same run.
Run ``.venv/bin/python -m bench.webhook --help`` from the project root.

Scenario and measurement are report_flow's (its ``TimedFake``, ``Cadre``, ``saturation``,
``open_loop``, ``seed``): each cadre does whole dialogues ``/report <code>`` → a value → ``/skip`` →
``/done`` → Confirm; reply time is from the update being queued in the fake to the bot's answer being
recorded there, so in webhook mode it includes the fake's POST to our server (as Telegram's would).

Variants, each with its bot in a child process (a core of its own):
* ``polling``: report_flow's ``duban`` variant (``start_polling``), N cadres, one county;
* ``webhook-1``: ``bot.serve.web.WebServer`` + one county's Application (``webhook=True``), N cadres;
* ``webhook-K``: K counties in one process, one WebServer, each county its own Application, bot
  token, fake Bot API and database, N/K cadres each (N concurrent users in all).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import sys
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.report_flow import (  # noqa: E402
    Cadre,
    Phase,
    Result,
    TimedFake,
    fresh_database,
    open_loop,
    percentile,
    run_variant,
    saturation,
    seed,
)

SECRET = "bench-webhook-secret-0123456789"
CHILD: dict[str, int] = {}  # the bot process being measured


def child_rss() -> float:
    """MiB resident in the bot's child process now."""
    with contextlib.suppress(OSError, KeyError, StopIteration):
        status = Path(f"/proc/{CHILD['pid']}/status").read_text().splitlines()
        return int(next(line for line in status if line.startswith("VmRSS:")).split()[1]) / 1024
    return 0.0


async def server_connections(url: str | None) -> int:
    """Client connections open on the PostgreSQL server of ``url`` (0 on SQLite)."""
    if not url:
        return 0
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    conn = await asyncpg.connect(user=u.username, host=u.host, port=u.port or 5432, database=u.database)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"))
    finally:
        await conn.close()


class CountyFake(TimedFake):
    """A TimedFake with a bot token of its own (one per county)."""

    def __init__(self, i: int) -> None:
        super().__init__()
        self.bot_id = 500_000 + i
        self.token = f"{self.bot_id}:BENCH-COUNTY-TOKEN-{i:03d}"


# --- the child process ------------------------------------------------------------------------------

async def serve(spec: list[dict]) -> None:
    """Run the counties of the spec behind one WebServer until SIGTERM."""
    from bot.app.build import build_application, start_webhook, stop
    from bot.serve.web import WebServer, webhook_secret
    from config.settings import Settings
    from models.db import Database
    from services.core.clock import SystemClock

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    warnings.filterwarnings("ignore", message="If 'per_message=False'")
    pool = spec[0].get("pg_pool")
    if pool:  # what-if, this process only: each county's PostgreSQL pool capped (see --pg-pool)
        import models.db

        plain = models.db.make_engine

        def capped(url: str, **kw: Any) -> Any:
            if url.startswith("postgresql"):
                kw = {"pool_size": pool, "max_overflow": pool, **kw}
            return plain(url, **kw)

        models.db.make_engine = capped  # type: ignore[assignment]
    done = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, done.set)
    counties: list[tuple[str, Any, Any, str, str]] = []
    server = None
    for c in spec:
        settings = Settings(token=c["token"], database_url=c["db"], bot_api_base_url=f"{c['fake']}/bot",
                            bot_api_file_url=f"{c['fake']}/file/bot", delivery_interval=1.0, per_chat_interval=0.0,
                            tick_interval=0.0, evidence_dir=Path(c["evidence"]), webhook_secret=SECRET,
                            _env_file=None)  # type: ignore[call-arg]
        if server is None:
            server = WebServer(settings, host="127.0.0.1", port=0, base_path="/bench")
            await server.start()
        db = Database(c["db"])
        app = build_application(settings, db, SystemClock(settings.tz), webhook=True, county=c["code"])
        path, secret = server.path_for(c["code"]), webhook_secret(settings, c["code"])
        server.mount(c["code"], app, path=path, secret=secret)
        counties.append((c["code"], app, db, path, secret))
    assert server is not None
    await asyncio.gather(*(start_webhook(app, url=f"http://127.0.0.1:{server.port}{path}", secret=secret)
                           for _, app, _, path, secret in counties))
    if spec[0].get("gc_freeze"):  # what-if: the start-up heap out of the cyclic GC's reach (see --gc-freeze)
        import gc

        gc.collect()
        gc.freeze()
    print("READY", flush=True)
    await done.wait()
    for code, app, db, *_ in counties:
        server.unmount(code)
        await stop(app)
        await db.dispose()
    await server.stop()


@contextlib.asynccontextmanager
async def child_webhook(spec: list[dict], tmp: Path) -> AsyncIterator[Callable[[], float]]:
    spec_file = tmp / f"spec-{len(spec)}.json"
    spec_file.write_text(json.dumps(spec))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.webhook", "--serve", str(spec_file), cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    try:
        if (await asyncio.wait_for(proc.stdout.readline(), 120)).strip() != b"READY":  # type: ignore[union-attr]
            raise RuntimeError(f"the webhook process did not start (exit {await proc.wait()})")
        stat = Path(f"/proc/{proc.pid}/stat")
        CHILD["pid"] = proc.pid
        yield lambda: sum(map(int, stat.read_text().rsplit(")", 1)[1].split()[11:13])) / os.sysconf("SC_CLK_TCK")
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 60)


# --- measuring ------------------------------------------------------------------------------------

async def measure(name: str, groups: list[tuple[TimedFake, list[Cadre]]], args: argparse.Namespace,
                  bot_cpu: Callable[[], float]) -> list[Result]:
    """report_flow's two phases, over every county at once (the rate split between them)."""
    results = []
    share = args.rate / len(groups)
    for label in ("saturation", f"open {args.rate:g}/s"):
        t0, b0, f0 = time.perf_counter(), bot_cpu(), time.process_time()
        if label == "saturation":  # the first second warms up and is not counted
            phases: list[Phase] = list(await asyncio.gather(
                *(saturation(fake, cadres, 1.0 + args.seconds) for fake, cadres in groups)))
            late, lo = 0, t0 + 1.0
            hi = lo + args.seconds
        else:
            # even: county i starts i/rate after the first, so the process sees one even stream of `rate`
            # updates a second, as one county at that rate does; poisson: each county its own random stream;
            # together: every county at the same instants (bursts of one update per county)
            outcomes = await asyncio.gather(*(
                open_loop(fake, cadres, share, max(1, int(share * args.seconds)),
                          offset=i / args.rate if args.arrivals == "even" else 0.0,
                          poisson=random.Random(i) if args.arrivals == "poisson" else None)
                for i, (fake, cadres) in enumerate(groups)))
            phases, late = [p for p, _ in outcomes], sum(n for _, n in outcomes)
            lo, hi = t0, time.perf_counter()
        wall = time.perf_counter() - t0
        kept = [lat for p in phases for at, lat in p.samples if lo <= at <= hi]
        results.append(Result(f"{name} {label}", len(kept), len(kept) / (hi - lo), percentile(kept, 0.5) * 1000,
                              percentile(kept, 0.99) * 1000, (bot_cpu() - b0) / wall,
                              (time.process_time() - f0) / wall, late, child_rss(),
                              await server_connections(args.database_url) - 1))  # less our own
        errors = [e for p in phases for e in p.errors]
        unmatched = sum(p.unmatched for p in phases)
        if unmatched or errors:
            print(f"  {name} {label}: {unmatched} messages answered no update; {len(errors)} dialogues went "
                  f"wrong{', e.g. ' + errors[0] if errors else ''}", file=sys.stderr)
    return results


async def county_databases(args: argparse.Namespace, tmp: Path, count: int, cadres: int,
                           prefix: str) -> tuple[list[str], list]:
    urls, drops = [], []
    for i in range(count):
        where = tmp / f"{prefix}{i:03d}"
        where.mkdir()
        url, drop = await fresh_database(args.database_url, where)
        urls.append(url)
        drops.append(drop)
        await seed(url, cadres)
    return urls, drops


async def main(args: argparse.Namespace) -> None:
    variants = args.variants.split(",")
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="duban-bench-webhook-") as tmp_name:
        tmp = Path(tmp_name)
        drops: list[Any] = []
        try:
            print(f"{args.cadres} cadres, {'SQLite' if not args.database_url else 'PostgreSQL'}, bots in a child "
                  f"process, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)
            if {"polling", "webhook-1"} & set(variants):
                (url,), d = await county_databases(args, tmp, 1, args.cadres, "one")
                drops += d
                async with CountyFake(0) as fake:
                    cadres = [Cadre(fake, i) for i in range(args.cadres)]
                    if "polling" in variants:
                        print("running polling ...", flush=True)
                        for r in await run_variant("duban", fake, cadres, args, url, tmp / "evidence"):
                            results.append(r._replace(label=r.label.replace("duban", "polling", 1)))
                    if "webhook-1" in variants:
                        print("running webhook, 1 county ...", flush=True)
                        spec = [{"code": "c000", "token": fake.token, "fake": fake.url, "db": url,
                                 "evidence": str(tmp / "evidence")}]
                        async with child_webhook(spec, tmp) as cpu:
                            results += await measure("webhook 1 county", [(fake, cadres)], args, cpu)
            if "webhook-k" in variants:
                k, each = args.counties, max(1, args.cadres // args.counties)
                print(f"preparing {k} county databases ...", flush=True)
                urls, d = await county_databases(args, tmp, k, each, "many")
                drops += d
                async with contextlib.AsyncExitStack() as stack:
                    fakes = [await stack.enter_async_context(CountyFake(i + 1)) for i in range(k)]
                    groups = [(f, [Cadre(f, i) for i in range(each)]) for f in fakes]
                    spec = [{"code": f"c{i:03d}", "token": f.token, "fake": f.url, "db": urls[i],
                             "evidence": str(tmp / f"evidence{i}"), "pg_pool": args.pg_pool,
                             "gc_freeze": args.gc_freeze}
                            for i, f in enumerate(fakes)]
                    print(f"running webhook, {k} counties x {each} cadres ...", flush=True)
                    async with child_webhook(spec, tmp) as cpu:
                        results += await measure(f"webhook {k} counties", groups, args, cpu)
            report(results)
            print(f"load average at the end {os.getloadavg()[0]:.2f} (other work on the machine skews the numbers)")
        finally:
            for drop in drops:
                if drop is not None:
                    await drop()


def report(results: list[Result]) -> None:
    print(f"\n{'run':<34}{'updates':>8}{'upd/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'bot CPU':>9}{'fake CPU':>9}{'late':>6}"
          f"{'RSS MiB':>9}{'PG conns':>9}")
    for r in results:
        print(f"{r.label:<34}{r.updates:>8}{r.rate:>8.1f}{r.p50:>9.1f}{r.p99:>9.1f}{r.bot_cpu:>9.0%}"
              f"{r.fake_cpu:>9.0%}{r.late:>6}{r.rss:>9.0f}{max(r.connections, 0) or '':>9}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench.webhook", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--cadres", type=int, default=100, help="concurrent users in all (default 100)")
    p.add_argument("--counties", type=int, default=20, help="counties in one process for webhook-k (default 20)")
    p.add_argument("--rate", type=float, default=20.0,
                   help="open-loop updates per second in all, split between the counties (default 20)")
    p.add_argument("--seconds", type=float, default=10.0, help="length of each phase (default 10)")
    p.add_argument("--database-url", help="a PostgreSQL server to create scratch databases on (default: SQLite)")
    p.add_argument("--pg-pool", type=int, default=1,
                   help="webhook-k on PostgreSQL: cap each county's connection pool at N (+N overflow) in the "
                        "bot process (default 1; SQLAlchemy's 5+10 per county exhausts max_connections=100 at "
                        "7 counties); 0 leaves the code's default")
    p.add_argument("--arrivals", choices=("even", "poisson", "together"), default="even",
                   help="open loop: even gaps, counties staggered (default); poisson: random gaps, each county "
                        "its own stream; together: every county sends at the same instants")
    p.add_argument("--gc-freeze", action="store_true",
                   help="webhook-k: gc.collect() and gc.freeze() in the bot process once every county has started")
    p.add_argument("--variants", default="polling,webhook-1,webhook-k",
                   help="comma-separated, of polling, webhook-1, webhook-k")
    p.add_argument("--serve", help=argparse.SUPPRESS)  # the child process: a spec file
    args = p.parse_args(argv)
    args.inline = False  # report_flow's polling variant runs its bot in a child process too
    unknown = set(args.variants.split(",")) - {"polling", "webhook-1", "webhook-k"}
    if unknown or args.cadres < 1 or args.counties < 1 or args.rate <= 0 or args.seconds <= 0:
        p.error(f"bad options: {', '.join(sorted(unknown)) or 'numbers must be positive'}")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(json.loads(Path(arguments.serve).read_text())) if arguments.serve else main(arguments))
    sys.exit(0)
