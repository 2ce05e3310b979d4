"""The map's points: units and assignment sites coloured by their light (the board's rule), and inspection
visits with their photos and flags (off-site, re-used, …), all within what the person may see."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlmodel import col, select

from models.db import UnitOfWork
from models.inspection import Inspection, InspectionPhoto
from models.plan import Assignment
from services.core.clock import Clock
from services.dashboard.board import county, light_of, most_urgent
from services.dashboard.scope import View
from services.progress.standings import Standing

VISITS = 500  # the newest visits shown


async def points(view: View, *, uow: UnitOfWork, clock: Clock) -> dict[str, Any]:
    async with uow:
        s = uow.session
        data = await county(s, clock.now().date(), clock)
        mine = [st for st in data.standings if view.sees(st.unit_id)]
        by_unit: dict[int, list[Standing]] = defaultdict(list)
        for st in mine:
            by_unit[st.unit_id].append(st)
        units = []
        for uid, unit in sorted(data.units.items()):
            if unit.latitude is None or unit.longitude is None or not unit.active or not view.sees(uid):
                continue
            worst = most_urgent(by_unit[uid]) if by_unit[uid] else None
            units.append({"code": unit.code, "name": unit.name, "lat": unit.latitude, "lon": unit.longitude,
                          "light": light_of(worst.pace.status.value) if worst else "grey",
                          "assignment": worst.assignment_id if worst else None})
        sites = []
        if mine:
            located = {a.id: a for a in (await s.exec(select(Assignment).where(
                col(Assignment.site_latitude).is_not(None), col(Assignment.site_longitude).is_not(None)))).all()}
            for st in mine:
                a = located.get(st.assignment_id)
                if a is not None and a.site_latitude is not None and a.site_longitude is not None:
                    sites.append({"assignment": st.assignment_id, "title": st.title, "unit": st.unit_name,
                                  "lat": a.site_latitude, "lon": a.site_longitude,
                                  "light": light_of(st.pace.status.value)})
        query = select(Inspection).where(col(Inspection.latitude).is_not(None))
        if not view.everything:
            query = query.where(col(Inspection.unit_id).in_(sorted(view.units) or [-1]))
        visits = (await s.exec(query.order_by(col(Inspection.visited_at).desc()).limit(VISITS))).all()
        photos: dict[int, list[InspectionPhoto]] = defaultdict(list)
        if visits:
            rows = await s.exec(select(InspectionPhoto).where(col(InspectionPhoto.inspection_id).in_(
                [v.id for v in visits])).order_by(col(InspectionPhoto.id)))
            for p in rows.all():
                photos[p.inspection_id].append(p)
        out_visits = []
        for v in visits:
            flags = {f.get("kind", "") for f in v.flags or []}
            for p in photos[v.id or 0]:
                flags |= {f.get("kind", "") for f in p.flags or []}
            unit = data.units.get(v.unit_id)
            out_visits.append({"id": v.id, "unit": unit.name if unit else "", "at": v.visited_at.astimezone(clock.tz)
                               .isoformat(), "lat": v.latitude, "lon": v.longitude, "rating": v.rating,
                               "assignment": v.assignment_id, "flags": sorted(flags - {""}),
                               "photos": [p.evidence_id for p in photos[v.id or 0]]})
    return {"units": units, "sites": sites, "visits": out_visits}
