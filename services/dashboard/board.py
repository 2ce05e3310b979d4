"""The traffic-light board (红黄绿灯): the units a person may see (rows, grouped by class, a township's villages
under it) × categories or targets (columns). Each cell is coloured by the pace rule
(services/progress/pace.py, through ``standings``: the same function the chat views call), taking the most
urgent of the cell's assignments; each row counts its red, yellow and green assignments and its open
supervision items (督办件).

Lights: overdue and red are red, yellow is yellow, on track and done are green, not started is grey.

The county's standings behind the board and the map are read once for everyone and kept for ``TTL`` (a
minute, by the clock) per database: a county of 1,000 units and 20,000 assignments takes most of a second of
Python to read through ``standings`` (column-wise, bench/dashboard.py), and every viewer filters the same
standings by their own scope. Requests while it is first read wait for that read instead of starting another;
once it is older than ``TTL`` it is still answered at once while one read behind it brings it up to date (so a
board is at most a minute and one read old). The drill-down (services/dashboard/detail.py) always reads afresh.

Reads run in a worker thread (their own loop and connection), so that the bot's event loop goes on meanwhile.
The thread and the loop share the GIL: the read lets go of it between partitions of its rows, and the cyclic
garbage collector is paused for the read (process-wide, under a second a minute), so that no collection of the
process's whole heap — tens of milliseconds with the GIL held — falls inside it (issue #19; the loop's longest
wait during a read is measured by bench/dashboard.py).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.pool import NullPool
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import t
from models.db import UnitOfWork, make_engine, make_session_factory
from models.enums import Category, UnitKind
from models.items import ItemPart, SupervisionItem
from models.plan import Target, Unit
from services.core.clock import Clock
from services.dashboard.scope import View
from services.progress.standings import URGENCY, Standing, paused_gc, standings

log = logging.getLogger(__name__)

LIGHT = {"overdue": "red", "red": "red", "yellow": "yellow", "on_track": "green", "done": "green",
         "not_started": "grey"}
LIGHTS = ("red", "yellow", "green", "grey")
OPEN_PARTS = ("assigned", "signed", "reported")
TTL = timedelta(minutes=1)


def light_of(status: str) -> str:
    """The board's colour of a pace status (see the module docstring)."""
    return LIGHT.get(status, "grey")


def most_urgent(found: list[Standing]) -> Standing:
    return min(found, key=lambda s: (URGENCY.get(s.pace.status.value, 9), s.pace.days_left, s.assignment_id))


@dataclass(frozen=True)
class Seen:
    """The county's standings as of a date, with the targets' categories, the units and their open items."""

    as_of: date
    standings: list[Standing]
    categories: dict[int, str]  # target id -> category
    units: dict[int, Unit]
    items: dict[int, int]  # unit id -> open supervision item parts
    targets: dict[int, tuple[str, str]]  # target id -> (code, title)
    rows: dict[str, list[tuple[int, str, dict[str, Any]]]] = field(default_factory=dict)  # by ``by``: ``_rows``


def _read_apart(url: str, as_of: date, clock: Clock) -> Seen:
    """``_read`` in this (worker) thread, on a loop and an engine of its own: reading 20,000 assignments
    through the ORM is seconds of Python, which would otherwise stop the bot's event loop for as long."""
    async def read() -> Seen:
        engine = make_engine(url, readonly=True) if url.startswith("sqlite") else make_engine(url, poolclass=NullPool)
        try:
            async with make_session_factory(engine)() as s:
                return await _read(s, as_of, clock, apart=True)
        finally:
            await engine.dispose()
    with paused_gc():  # see the module docstring: no collection of the process's whole heap amid the read
        return asyncio.run(read())


async def _read(s: AsyncSession, as_of: date, clock: Clock, *, apart: bool = False) -> Seen:
    found = await standings(s, as_of=as_of, tz=clock.tz, apart=apart)
    targets = (await s.exec(select(Target.id, Target.category, Target.code, Target.title))).all()
    units = {u.id: u for u in (await s.exec(select(Unit))).all() if u.id is not None}
    return Seen(as_of, found, {i: c for i, c, _, _ in targets}, units, await open_items(s, None),  # type: ignore[arg-type]
                {i: (code, title) for i, _, code, title in targets})


# Per database (the engine: dropped with it), by date: when the county was read and what, or the future of
# a read in progress. Filled on first use.
_county: weakref.WeakKeyDictionary[Any, dict[date, tuple[datetime, Seen] | asyncio.Future]] = (
    weakref.WeakKeyDictionary())
_refreshing: weakref.WeakKeyDictionary[Any, asyncio.Task] = weakref.WeakKeyDictionary()  # one per database


def _url(s: AsyncSession) -> str:
    return s.bind.url.render_as_string(hide_password=False) if s.bind is not None else ""


async def _load(s: AsyncSession, url: str, as_of: date, clock: Clock) -> Seen:
    return await asyncio.to_thread(_read_apart, url, as_of, clock) if url else await _read(s, as_of, clock)


async def _refresh(cache: dict, url: str, as_of: date, clock: Clock) -> None:
    """Read the county again behind a stale answer; the kept one is replaced when the read is done."""
    began = clock.now()
    try:
        data = await asyncio.to_thread(_read_apart, url, as_of, clock)
    except Exception:
        log.warning("the dashboard's county read failed; the board stays as it was", exc_info=True)
        return
    kept = cache.get(as_of)
    if isinstance(kept, tuple) and kept[0] <= began:
        cache[as_of] = (began, data)


async def county(s: AsyncSession, as_of: date, clock: Clock) -> Seen:
    """The county as of ``as_of``, read less than ``TTL`` ago (see the module docstring)."""
    cache = _county.setdefault(s.bind, {})
    now = clock.now()
    found = cache.get(as_of)
    if isinstance(found, asyncio.Future) and found.get_loop() is asyncio.get_running_loop():
        try:
            return await asyncio.shield(found)
        except Exception:  # the read it waited for failed: try once more itself
            found = None
    if isinstance(found, tuple):
        if not timedelta(0) <= now - found[0] < TTL and (url := _url(s)):
            # Older than TTL: answered as it is while one read behind it brings it up to date.
            running = _refreshing.get(s.bind)
            if running is None or running.done():
                _refreshing[s.bind] = asyncio.ensure_future(_refresh(cache, url, as_of, clock))
        return found[1]
    future: asyncio.Future[Seen] = asyncio.get_running_loop().create_future()
    cache.clear()  # one date kept: yesterday's board is not asked for
    cache[as_of] = future
    try:
        data = await _load(s, _url(s), as_of, clock)
    except BaseException as exc:
        cache.pop(as_of, None)
        future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("the read was interrupted"))
        future.exception()  # (retrieved: no "never retrieved" warning when nobody waited)
        raise
    cache[as_of] = (now, data)
    future.set_result(data)
    return data


async def settled(s: AsyncSession) -> None:
    """Wait for the read behind a stale answer, if one is running (tests and benchmarks)."""
    running = _refreshing.get(s.bind)
    if running is not None:
        await running


def forget(s: AsyncSession) -> None:
    """Drop the kept county (tests and benchmarks that change the data and look again at once)."""
    _county.pop(s.bind, None)


async def open_items(s: AsyncSession, unit_ids: list[int] | None) -> dict[int, int]:
    """Open supervision item parts per unit."""
    query = (select(ItemPart.unit_id, func.count())
             .join(SupervisionItem, col(SupervisionItem.id) == col(ItemPart.item_id))
             .where(SupervisionItem.state == "open", col(ItemPart.state).in_(OPEN_PARTS)))
    if unit_ids is not None:
        query = query.where(col(ItemPart.unit_id).in_(unit_ids or [-1]))
    return {u: int(n) for u, n in (await s.exec(query.group_by(col(ItemPart.unit_id)))).all()}


def class_label(unit_class: str, lang: str) -> str:
    return t(f"dash.class.{unit_class}", lang) if unit_class in {k.value for k in UnitKind} else unit_class


def _row_order(unit: Unit, units: dict[int, Unit]) -> tuple[str, str, int, str]:
    """A township's villages right under it: (class, township code, depth, own code)."""
    parent = units.get(unit.parent_id or 0)
    if parent is not None and parent.kind == UnitKind.TOWNSHIP.value:
        return unit.unit_class, parent.code, 1, unit.code
    return unit.unit_class, unit.code, 0, unit.code


def _cell(found: list[Standing]) -> dict[str, Any]:
    worst = most_urgent(found)
    return {"status": worst.pace.status.value, "light": light_of(worst.pace.status.value),
            "assignment": worst.assignment_id, "n": len(found)}


def _rows(data: Seen, by: str) -> list[tuple[int, str, dict[str, Any]]]:
    """Every active unit's row in board order, as (unit id, class, row): built once per kept county and ``by``
    (rows are shared by every viewer's answer and never changed)."""
    kept = data.rows.get(by)
    if kept is not None:
        return kept
    cells: dict[int, dict[str, list[Standing]]] = defaultdict(lambda: defaultdict(list))
    for st in data.standings:
        key = str(st.target_id) if by == "target" else data.categories.get(st.target_id, "other")
        cells[st.unit_id][key].append(st)
    out = []
    shown = [u for u in data.units.values() if u.active and (u.id in cells or u.id in data.items)]
    for unit in sorted(shown, key=lambda u: _row_order(u, data.units)):
        uid = unit.id or 0
        counts = Counter(light_of(st.pace.status.value) for by_col in cells[uid].values() for st in by_col)
        parent = data.units.get(unit.parent_id or 0)
        out.append((uid, unit.unit_class, {
            "code": unit.code, "name": unit.name, "kind": unit.kind,
            "parent": parent.name if parent is not None else None, "depth": _row_order(unit, data.units)[2],
            "cells": {k: _cell(v) for k, v in cells[uid].items()},
            "counts": {light: counts.get(light, 0) for light in LIGHTS}, "items": data.items.get(uid, 0)}))
    data.rows[by] = out
    return out


async def board(view: View, *, by: str = "category", uow: UnitOfWork, clock: Clock) -> dict[str, Any]:
    """The board as JSON-ready data (see the README's JSON API table)."""
    lang = view.lang
    by = "target" if by == "target" else "category"
    async with uow:
        data = await county(uow.session, clock.now().date(), clock)
    rows = [(cls, row) for uid, cls, row in _rows(data, by) if view.sees(uid)]
    if by == "target":
        used = {int(k) for _, row in rows for k in row["cells"]}
        columns = [{"key": str(tid), "label": f"{code} {title}"}
                   for tid, (code, title) in sorted(data.targets.items(), key=lambda kv: kv[1][0]) if tid in used]
    else:
        columns = [{"key": c.value, "label": t(f"progress.export.category.{c.value}", lang)} for c in Category]
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    totals: Counter[str] = Counter()
    for cls, row in rows:
        groups[cls].append(row)
        totals.update(row["counts"])
        totals["items"] += row["items"]
    return {"as_of": data.as_of.isoformat(), "by": by, "columns": columns,
            "groups": [{"class": c, "label": class_label(c, lang), "rows": rs} for c, rs in groups.items()],
            "totals": {k: totals.get(k, 0) for k in (*LIGHTS, "items")}}
