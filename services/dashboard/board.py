"""The traffic-light board (红黄绿灯): the units a person may see (rows, grouped by class, a township's villages
under it) × categories or targets (columns). Each cell is coloured by the pace rule
(services/progress/pace.py, through ``standings``: the same function the chat views call), taking the most
urgent of the cell's assignments; each row counts its red, yellow and green assignments and its open
supervision items (督办件).

Lights: overdue and red are red, yellow is yellow, on track and done are green, not started is grey.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import t
from models.db import UnitOfWork
from models.enums import Category, UnitKind
from models.items import ItemPart, SupervisionItem
from models.plan import Target, Unit
from services.core.clock import Clock
from services.dashboard.scope import View
from services.progress.standings import URGENCY, Standing, standings

LIGHT = {"overdue": "red", "red": "red", "yellow": "yellow", "on_track": "green", "done": "green",
         "not_started": "grey"}
LIGHTS = ("red", "yellow", "green", "grey")
OPEN_PARTS = ("assigned", "signed", "reported")


def light_of(status: str) -> str:
    """The board's colour of a pace status (see the module docstring)."""
    return LIGHT.get(status, "grey")


def most_urgent(found: list[Standing]) -> Standing:
    return min(found, key=lambda s: (URGENCY.get(s.pace.status.value, 9), s.pace.days_left, s.assignment_id))


@dataclass(frozen=True)
class Seen:
    """The standings a person may see as of a date, with their targets' categories and units."""

    as_of: date
    standings: list[Standing]
    categories: dict[int, str]  # target id -> category
    units: dict[int, Unit]


async def seen(s: AsyncSession, view: View, as_of: date, clock: Clock, unit_ids: list[int] | None = None) -> Seen:
    wanted = unit_ids if unit_ids is not None else None if view.everything else sorted(view.units)
    found = await standings(s, as_of=as_of, tz=clock.tz, unit_ids=wanted)
    targets = dict((await s.exec(select(Target.id, Target.category))).all())
    query = select(Unit).where(Unit.active == True)  # noqa: E712
    if wanted is not None:
        query = query.where(col(Unit.id).in_(wanted or [-1]))
    units = {u.id: u for u in (await s.exec(query)).all() if u.id is not None}
    parents = {u.parent_id for u in units.values() if u.parent_id and u.parent_id not in units}
    if parents:
        units |= {u.id: u for u in (await s.exec(select(Unit).where(col(Unit.id).in_(parents)))).all()
                  if u.id is not None}
    return Seen(as_of, found, targets, units)  # type: ignore[arg-type]


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


async def board(view: View, *, by: str = "category", uow: UnitOfWork, clock: Clock) -> dict[str, Any]:
    """The board as JSON-ready data (see the README's JSON API table)."""
    lang = view.lang
    async with uow:
        s = uow.session
        data = await seen(s, view, clock.now().date(), clock)
        items = await open_items(s, None if view.everything else sorted(view.units))
        if by == "target":
            titles = {st.target_id: (st.target_code, st.title) for st in data.standings}
            columns = [{"key": str(tid), "label": f"{code} {title}"}
                       for tid, (code, title) in sorted(titles.items(), key=lambda kv: kv[1][0])]

            def key(st: Standing) -> str:
                return str(st.target_id)
        else:
            by = "category"
            columns = [{"key": c.value, "label": t(f"progress.export.category.{c.value}", lang)} for c in Category]

            def key(st: Standing) -> str:
                return data.categories.get(st.target_id, "other")
    cells: dict[int, dict[str, list[Standing]]] = defaultdict(lambda: defaultdict(list))
    for st in data.standings:
        cells[st.unit_id][key(st)].append(st)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    totals: Counter[str] = Counter()
    shown = [u for u in data.units.values() if view.sees(u.id or 0) and (u.id in cells or u.id in items)]
    for unit in sorted(shown, key=lambda u: _row_order(u, data.units)):
        uid = unit.id or 0
        counts = Counter(light_of(st.pace.status.value) for by_col in cells[uid].values() for st in by_col)
        parent = data.units.get(unit.parent_id or 0)
        row = {"code": unit.code, "name": unit.name, "kind": unit.kind,
               "parent": parent.name if parent is not None else None,
               "depth": _row_order(unit, data.units)[2],
               "cells": {k: _cell(v) for k, v in cells[uid].items()},
               "counts": {light: counts.get(light, 0) for light in LIGHTS}, "items": items.get(uid, 0)}
        totals.update(counts)
        totals["items"] += row["items"]
        groups[unit.unit_class].append(row)
    return {"as_of": data.as_of.isoformat(), "by": by, "columns": columns,
            "groups": [{"class": c, "label": class_label(c, lang), "rows": rows} for c, rows in groups.items()],
            "totals": {k: totals.get(k, 0) for k in (*LIGHTS, "items")}}
