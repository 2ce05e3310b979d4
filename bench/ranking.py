"""Benchmark (not a test): the full county ranking (services.scoring.formula.compute_county) on a county of
1,000 units, 20,000 assignments and 200,000 reports, timed against one raw SQL aggregate over the same
tables in the same run (the latest report per assignment, its ratio capped, summed per unit).

    .venv/bin/python bench/ranking.py                 # SQLite, then PostgreSQL if DUBAN_TEST_POSTGRES_URL is set
    .venv/bin/python bench/ranking.py --sqlite-only
    .venv/bin/python bench/ranking.py --runs 7 --units 1000 --per-unit 20 --reports 10

On PostgreSQL a scratch database ``duban_bench_rank_<pid>_<hex>`` is created on the server named by
DUBAN_TEST_POSTGRES_URL, migrated, seeded and dropped at the end. Goal: the ranking under 1 s and
within 2× of the raw SQL. Always exits 0; prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from models.assessment import AssessmentItem, PeerScore, SurveyResponse  # noqa: E402
from models.db import Database, make_engine  # noqa: E402
from models.inspection import Inspection  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from models.people import Person  # noqa: E402
from models.plan import Assignment, LeadingGroup, Target, Unit  # noqa: E402
from models.progress import ProgressReport  # noqa: E402
from services.scoring.formula import calculate, compute_county  # noqa: E402
from services.scoring.load import load  # noqa: E402
from services.scoring.rules import load_rules  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
YEAR = 2027
CUTOFF = date(2027, 12, 31)
CLASSES = [("乡镇", 30), ("部门", 80), ("企业", 200), ("村", 690)]

# The naive aggregate: the latest report by the cut-off, its ratio capped, a weighted mean per unit.
NAIVE = {
    "sqlite": """
SELECT a.unit_id,
       100.0 * SUM(CAST(a.weight AS REAL) * COALESCE(MIN(MAX(
           (CAST(pr.value AS REAL) - CAST(a.baseline_value AS REAL))
           / (CAST(a.planned_value AS REAL) - CAST(a.baseline_value AS REAL)), 0), 1.2), 0))
       / SUM(CAST(a.weight AS REAL)) AS c
FROM assignments a
JOIN targets t ON t.id = a.target_id
JOIN units u ON u.id = a.unit_id
LEFT JOIN (SELECT assignment_id, MAX(id) AS rid FROM progress_reports
           WHERE confirmed_at <= :until GROUP BY assignment_id) l ON l.assignment_id = a.id
LEFT JOIN progress_reports pr ON pr.id = l.rid
WHERE t.year = :year AND u.active
GROUP BY a.unit_id ORDER BY c DESC
""",
    "postgresql": """
SELECT a.unit_id,
       100.0 * SUM(a.weight * COALESCE(LEAST(GREATEST(
           (pr.value - a.baseline_value) / NULLIF(a.planned_value - a.baseline_value, 0), 0), 1.2), 0))
       / SUM(a.weight) AS c
FROM assignments a
JOIN targets t ON t.id = a.target_id
JOIN units u ON u.id = a.unit_id
LEFT JOIN (SELECT assignment_id, MAX(id) AS rid FROM progress_reports
           WHERE confirmed_at <= :until GROUP BY assignment_id) l ON l.assignment_id = a.id
LEFT JOIN progress_reports pr ON pr.id = l.rid
WHERE t.year = :year AND u.active
GROUP BY a.unit_id ORDER BY c DESC
""",
}

# The same completion score C as services/scoring computes, in one statement: zero-base targets count
# reports and visits from the year's start only, the latest visit's verified value wins when it is worse for
# the unit in the target's direction (issue #15; no visit of the seed is held, no evidence accepted), lower is better
# reversed, planned == baseline all or nothing, capped at 1.2. Used to cross-check the C values too.
# Each database gets the faster form (correlated subqueries on SQLite, hash aggregates on PostgreSQL).
_LINES = {
    "sqlite": """
  SELECT a.unit_id AS unit_id, CAST(a.weight AS REAL) AS w, CAST(a.baseline_value AS REAL) AS b,
         CAST(a.planned_value AS REAL) AS p, CASE WHEN t.direction = 'lower' THEN -1.0 ELSE 1.0 END AS s,
         CAST(pr.value AS REAL) AS claimed,
         (SELECT CAST(i.verified_value AS REAL) FROM inspections i
          WHERE i.assignment_id = a.id AND i.verified_value IS NOT NULL AND i.visited_at <= :until
            AND (t.mode <> 'zero_base' OR i.visited_at >= :year_start)
          ORDER BY i.visited_at DESC, i.id DESC LIMIT 1) AS verified
  FROM assignments a
  JOIN targets t ON t.id = a.target_id
  JOIN units u ON u.id = a.unit_id
  LEFT JOIN progress_reports pr ON pr.id = (
      SELECT MAX(r.id) FROM progress_reports r
      WHERE r.assignment_id = a.id AND r.confirmed_at <= :until
        AND (t.mode <> 'zero_base' OR r.confirmed_at >= :year_start))
  WHERE t.year = :year AND u.active""",
    "postgresql": """
  SELECT a.unit_id AS unit_id, a.weight AS w, a.baseline_value AS b, a.planned_value AS p,
         CASE WHEN t.direction = 'lower' THEN -1.0 ELSE 1.0 END AS s, pr.value AS claimed,
         CASE WHEN t.mode <> 'zero_base' OR v.visited_at >= :year_start THEN v.verified_value END AS verified
  FROM assignments a
  JOIN targets t ON t.id = a.target_id
  JOIN units u ON u.id = a.unit_id
  LEFT JOIN (SELECT r.assignment_id, MAX(r.id) AS all_time,
                    MAX(r.id) FILTER (WHERE r.confirmed_at >= :year_start) AS this_year
             FROM progress_reports r WHERE r.confirmed_at <= :until GROUP BY r.assignment_id) l
         ON l.assignment_id = a.id
  LEFT JOIN progress_reports pr ON pr.id = CASE WHEN t.mode = 'zero_base' THEN l.this_year ELSE l.all_time END
  LEFT JOIN (SELECT DISTINCT ON (i.assignment_id) i.assignment_id, i.verified_value, i.visited_at
             FROM inspections i WHERE i.verified_value IS NOT NULL AND i.visited_at <= :until
             ORDER BY i.assignment_id, i.visited_at DESC, i.id DESC) v ON v.assignment_id = a.id
  WHERE t.year = :year AND u.active""",
}
_EQUIV = """
WITH lines AS ({lines}
), valued AS (
  SELECT unit_id, w, b, p, s, CASE WHEN verified IS NULL THEN claimed WHEN claimed IS NULL THEN verified
                                   WHEN s * (verified - claimed) < 0 THEN verified ELSE claimed END AS v FROM lines
)
SELECT unit_id, 100.0 * SUM(w * CASE
         WHEN v IS NULL THEN 0
         WHEN s * (p - b) <= 0 THEN CASE WHEN s * (v - p) >= 0 THEN 1 ELSE 0 END
         ELSE {least}({greatest}(s * (v - b) / (s * (p - b)), 0), 1.2) END) / SUM(w) AS c
FROM valued GROUP BY unit_id ORDER BY c DESC
"""
EQUIV = {
    "sqlite": _EQUIV.format(lines=_LINES["sqlite"], least="MIN", greatest="MAX"),
    "postgresql": _EQUIV.format(lines=_LINES["postgresql"], least="LEAST", greatest="GREATEST"),
}


async def seed(db: Database, units: int, per_unit: int, reports: int) -> dict[str, int]:
    rnd = random.Random(7)
    now = datetime(2027, 12, 31, 12, tzinfo=UTC)
    counts: dict[str, int] = {}

    async def bulk(table, rows: list[dict]) -> None:  # type: ignore[no-untyped-def]
        async with db.uow() as uow:
            for start in range(0, len(rows), 20_000):
                await uow.session.execute(insert(table.__table__), rows[start:start + 20_000])
            await uow.commit()
        counts[table.__tablename__] = counts.get(table.__tablename__, 0) + len(rows)

    scale = units / sum(n for _, n in CLASSES)
    unit_rows, classes = [], []
    for name, n in CLASSES:
        classes += [name] * max(1, round(n * scale))
    classes = classes[:units] + [CLASSES[-1][0]] * max(0, units - len(classes))
    for i, cls in enumerate(classes, start=1):
        unit_rows.append({"id": i, "code": f"U{i:05d}", "name": f"单位{i}", "kind": "village", "unit_class": cls,
                          "active": True, "created_at": now})
    await bulk(Unit, unit_rows)
    await bulk(Person, [{"id": i, "code": f"P{i:05d}", "name": f"人{i}", "unit_id": i, "active": True,
                         "created_at": now} for i in range(1, units + 1)])
    await bulk(LeadingGroup, [{"id": g, "code": f"G{g}", "name": f"领导小组{g}"} for g in range(1, 10)])
    n_targets = max(1, per_unit * 20)  # each target split onto ~units/20 units
    await bulk(Target, [{"id": t, "code": f"T{t:04d}", "year": YEAR, "title": f"目标{t}", "category": "other",
                         "measure": "万元", "direction": "lower" if t % 17 == 0 else "higher",
                         "mode": "zero_base" if t % 3 == 0 else "continuous", "deadline": date(YEAR, 12, 31),
                         "report_interval_days": 7, "leading_group_id": t % 10 or None, "description": "",
                         "closed": False} for t in range(1, n_targets + 1)])
    assignments, aid = [], 0
    for u in range(1, units + 1):
        for k in range(per_unit):
            aid += 1
            target = (u * 7 + k * 131) % n_targets + 1
            assignments.append({"id": aid, "target_id": target, "unit_id": u,
                                "planned_value": Decimal(rnd.randint(50, 500)), "baseline_value": Decimal(0),
                                "weight": Decimal(rnd.choice([1, 2, 3, 5]))})
    # (target, unit) is unique: drop repeats the modular spread may produce.
    seen, unique = set(), []
    for a in assignments:
        if (a["target_id"], a["unit_id"]) not in seen:
            seen.add((a["target_id"], a["unit_id"]))
            unique.append(a)
    await bulk(Assignment, unique)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    report_rows, rid = [], 0
    for a in unique:
        value = Decimal(0)
        for r in range(reports):
            rid += 1
            value += Decimal(rnd.randint(0, int(a["planned_value"]) // reports + 8))
            report_rows.append({"id": rid, "assignment_id": a["id"], "reporter_person_id": a["unit_id"],
                                "value": value, "note": "",
                                "confirmed_at": start + timedelta(days=r * 38, minutes=rid % 1000)})
    await bulk(ProgressReport, report_rows)
    await bulk(Inspection, [{"inspector_person_id": 1, "unit_id": a["unit_id"], "assignment_id": a["id"],
                             "visited_at": datetime(2027, 12, 20, tzinfo=UTC), "findings": "",
                             "verified_value": Decimal(rnd.randint(0, 400)), "rating": "acceptable"}
                            for a in unique[::4]])
    scores = []
    for u in range(1, units + 1):
        for j, kind in enumerate(["peer"] * 5 + ["inspection"] * 3):
            scores.append({"year": YEAR, "kind": kind, "scorer_person_id": (u + j * 37) % units + 1, "unit_id": u,
                           "score": Decimal(rnd.randint(60, 100)), "comment": "", "drawn_at": now,
                           "submitted_at": now})
    seen_s: set[tuple] = set()
    scores = [s for s in scores if (key := (s["kind"], s["scorer_person_id"], s["unit_id"])) not in seen_s
              and not seen_s.add(key)]  # type: ignore[func-returns-value]
    await bulk(PeerScore, scores)
    survey = [{"year": YEAR, "unit_id": u, "respondent": f"r{u}_{i}", "comment": "", "answered_at": now,
               "answer": rnd.choices(["satisfied", "basic", "unsatisfied"], [6, 3, 1])[0]}
              for u in range(1, units + 1) for i in range(30)]
    await bulk(SurveyResponse, survey)
    await bulk(AssessmentItem, [{"year": YEAR, "unit_id": u, "kind": rnd.choice(["bonus", "deduction"]),
                                 "points": Decimal(rnd.randint(1, 4)), "reason": "理由", "evidence": "",
                                 "created_by": "bench", "created_at": now} for u in range(1, units + 1, 5)])
    return counts


async def best_of(runs: int, fn) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - t0)
        gc.collect()
    return times


async def measure(url: str, kind: str, args: argparse.Namespace) -> dict:
    engine = make_engine(url)
    await upgrade(engine)
    await engine.dispose()
    db = Database(url)
    try:
        t0 = time.perf_counter()
        counts = await seed(db, args.units, args.per_unit, args.reports)
        seeded = time.perf_counter() - t0
        if kind == "postgresql":  # statistics and the visibility map, as autovacuum keeps them (committed: outside
            # a transaction; an ANALYZE rolled back with its transaction leaves the planner without statistics)
            async with db.engine.connect() as conn:
                await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text("VACUUM ANALYZE"))
        rules = load_rules()
        result = None

        async def ranking() -> None:
            nonlocal result
            result = await compute_county(YEAR, uow=db.read_uow(), rules=rules, cutoff=CUTOFF, tz=TZ)

        def stamp(moment: datetime) -> datetime:  # how UTCDateTime stores it
            moment = moment.astimezone(UTC)
            return moment.replace(tzinfo=None) if kind == "sqlite" else moment

        params = {"until": stamp(datetime.combine(CUTOFF, datetime.max.time(), tzinfo=TZ)),
                  "year_start": stamp(datetime(YEAR, 1, 1, tzinfo=TZ)), "year": YEAR}
        raw_rows: dict[str, list] = {}

        def raw(name: str, sql: str):  # type: ignore[no-untyped-def]
            async def run() -> None:
                async with db.read_engine.connect() as conn:
                    raw_rows[name] = list((await conn.execute(text(sql), params)).all())
            return run

        naive, equiv = raw("naive", NAIVE[kind]), raw("equiv", EQUIV[kind])
        for fn in (ranking, naive, equiv):  # warm-up: caches, connections
            await fn()
        times = {"rank": [], "naive": [], "equiv": []}
        for _ in range(args.runs):  # interleaved, so that load from elsewhere hits all three alike
            for name, fn in (("rank", ranking), ("naive", naive), ("equiv", equiv)):
                times[name] += await best_of(1, fn)
        assert result is not None
        ours = {u.unit_id: u.completion for u in result.units}
        diff = max(abs(float(ours[uid]) - float(c)) for uid, c in raw_rows["equiv"])
        split: dict[str, list[float]] = {"read": [], "read_cpu": [], "arith": [], "arith_cpu": []}
        if args.split:  # where the ranking's time goes: the reads (event loop + driver) and the arithmetic
            for _ in range(args.runs):
                async with db.read_uow() as uow:
                    w0, c0 = time.perf_counter(), time.process_time()
                    data = await load(uow.session, YEAR, CUTOFF, TZ, milestones=rules.weighs_milestones)
                    w1, c1 = time.perf_counter(), time.process_time()
                    calculate(data, year=YEAR, rules=rules, cutoff=CUTOFF)
                    w2, c2 = time.perf_counter(), time.process_time()
                for key, value in (("read", w1 - w0), ("read_cpu", c1 - c0), ("arith", w2 - w1),
                                   ("arith_cpu", c2 - c1)):
                    split[key].append(value)
                gc.collect()
        late: list[float] = []
        if args.past_deadlines:  # issue #15: the main query again at the end of each past deadline
            async with db.uow() as uow:
                for n in range(args.past_deadlines):
                    day = date(YEAR, 12, 31) - timedelta(days=30 * (n + 1))
                    await uow.session.execute(text("UPDATE targets SET deadline = :d WHERE id % :k = :r"),
                                              {"d": day, "k": args.past_deadlines + 1, "r": n})
                await uow.commit()
            await ranking()
            for _ in range(args.runs):
                late += await best_of(1, ranking)
        return {"kind": kind, "counts": counts, "seed_s": seeded, **times, "diff": diff, "late": late, "split": split,
                "units": len(result.units), "lines": sum(len(u.lines) for u in result.units)}
    finally:
        await db.dispose()


async def postgres_scratch(base_url: str):  # type: ignore[no-untyped-def]
    import asyncpg
    from sqlalchemy.engine import make_url

    base = make_url(base_url)
    dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"duban_bench_rank_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    await admin(f'CREATE DATABASE "{name}"')
    return base.set(database=name).render_as_string(hide_password=False), lambda: admin(
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def show(r: dict) -> None:
    med = {k: statistics.median(r[k]) for k in ("rank", "naive", "equiv")}
    print(f"\n== {r['kind']}: {r['units']} units ranked, {r['lines']} assignment lines "
          f"(seeded {', '.join(f'{k} {v}' for k, v in r['counts'].items())} in {r['seed_s']:.1f} s)")
    labels = {"rank": "ranking (compute_county)", "naive": "raw SQL, naive C", "equiv": "raw SQL, same C rules"}
    for k, label in labels.items():
        print(f"{label:26} median {med[k] * 1000:5.0f} ms  best {min(r[k]) * 1000:5.0f} ms  "
              f"runs {', '.join(f'{x * 1000:.0f}' for x in r[k])}")
    print(f"C from compute_county vs the same-rules SQL: max difference {r['diff']:.2e} (float vs exact)")
    if r["split"]["read"]:
        sp = {k: statistics.median(v) * 1000 for k, v in r["split"].items()}
        print(f"ranking split (--split): read {sp['read']:.0f} ms (process CPU {sp['read_cpu']:.0f} ms), arithmetic "
              f"{sp['arith']:.0f} ms (CPU {sp['arith_cpu']:.0f} ms), medians")
    if r["late"]:
        print(f"ranking with past deadlines (--past-deadlines): median {statistics.median(r['late']) * 1000:5.0f} ms  "
              f"runs {', '.join(f'{x * 1000:.0f}' for x in r['late'])}")
    print(f"ranking / naive SQL: {med['rank'] / med['naive']:.2f}×   ranking / same-rules SQL: "
          f"{med['rank'] / med['equiv']:.2f}×   goal < 1000 ms: {'met' if med['rank'] < 1 else 'NOT met'}; "
          f"≤ 2× same-rules SQL: {'met' if med['rank'] <= 2 * med['equiv'] else 'NOT met'}; "
          f"≤ 2× naive SQL: {'met' if med['rank'] <= 2 * med['naive'] else 'NOT met'}")


async def main(args: argparse.Namespace) -> None:
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        show(await measure(f"sqlite+aiosqlite:///{Path(tmp) / 'ranking.db'}", "sqlite", args))
    pg = os.environ.get("DUBAN_TEST_POSTGRES_URL", "").strip()
    if pg and not args.sqlite_only:
        url, drop = await postgres_scratch(pg)
        try:
            show(await measure(url, "postgresql", args))
        finally:
            await drop()
    elif not args.sqlite_only:
        print("\n(DUBAN_TEST_POSTGRES_URL not set: PostgreSQL not measured)")
    print(f"\nload average at end: {os.getloadavg()}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sqlite-only", action="store_true")
    p.add_argument("--units", type=int, default=1000)
    p.add_argument("--per-unit", type=int, default=20, help="assignments per unit (default 20)")
    p.add_argument("--reports", type=int, default=10, help="reports per assignment (default 10)")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--split", action="store_true", help="also time the reads and the arithmetic apart")
    p.add_argument("--past-deadlines", type=int, default=0,
                   help="then give N/(N+1) of the targets one of N deadlines before the cut-off and time the ranking "
                        "again (each past deadline reads the assignments once more)")
    return p.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
