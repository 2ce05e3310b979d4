"""The drill-down: a unit (its assignments by urgency, its open supervision items) and an assignment
(claimed and effective value, the expected line over the year from its milestones, its reports and
inspections for the chart, the evidence photos), and which evidence file a person may open. Values are
strings (exact decimals); times are ISO 8601 in the county's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.core import EvidenceFile
from models.db import UnitOfWork
from models.inspection import Inspection, InspectionPhoto
from models.people import Person
from models.plan import Assignment, Target, Unit
from models.progress import ProgressReport, ReportAttachment
from services.core.clock import Clock
from services.core.errors import NotFound
from services.dashboard.board import light_of, open_items
from services.dashboard.scope import View
from services.progress.pace import PacePlan, expected_value, parse_milestones
from services.progress.standings import Standing, standings


def _num(v: Decimal | None) -> str | None:
    return None if v is None else format(v.normalize(), "f")


def standing_json(st: Standing) -> dict[str, Any]:
    return {"id": st.assignment_id, "target": st.target_code, "title": st.title, "measure": st.measure,
            "direction": st.direction, "unit": st.unit_code, "unit_name": st.unit_name,
            "planned": _num(st.planned), "baseline": _num(st.baseline), "deadline": st.deadline.isoformat(),
            "claimed": _num(st.claimed), "effective": _num(st.effective), "expected": _num(st.pace.expected),
            "ratio": _num(st.pace.ratio), "percent": _num(st.pace.percent_complete),
            "status": st.pace.status.value, "light": light_of(st.pace.status.value),
            "last_report_at": st.last_report_at.isoformat() if st.last_report_at else None}


async def _unit(s: AsyncSession, view: View, code: str) -> Unit:
    unit = (await s.exec(select(Unit).where(func.upper(Unit.code) == code.strip().upper()))).first()
    if unit is None:
        raise NotFound("dash.unknown_unit", code=code)
    view.check(unit.id or 0)
    return unit


async def unit_detail(view: View, code: str, *, uow: UnitOfWork, clock: Clock) -> dict[str, Any]:
    async with uow:
        s = uow.session
        unit = await _unit(s, view, code)
        found = await standings(s, as_of=clock.now().date(), tz=clock.tz, unit_ids=[unit.id or 0])
        items = await open_items(s, [unit.id or 0])
        parent = await s.get(Unit, unit.parent_id) if unit.parent_id else None
        return {"code": unit.code, "name": unit.name, "kind": unit.kind, "class": unit.unit_class,
                "parent": parent.name if parent else None, "latitude": unit.latitude, "longitude": unit.longitude,
                "items": items.get(unit.id or 0, 0), "assignments": [standing_json(st) for st in found]}


def expected_line(plan: PacePlan, as_of: date) -> list[dict[str, str]]:
    """The expected value at each corner of the plan's curve (Jan 1, each milestone, the deadline) and today:
    straight lines between them are the expected value on every other day."""
    days = {date(plan.year, 1, 1), plan.deadline, *(d for d, _ in plan.milestones)}
    if date(plan.year, 1, 1) <= as_of <= plan.deadline:
        days.add(as_of)
    return [{"date": d.isoformat(), "value": _num(expected_value(plan, d)) or "0"}
            for d in sorted(days) if date(plan.year, 1, 1) <= d <= plan.deadline]


async def assignment_detail(view: View, assignment_id: int, *, uow: UnitOfWork, clock: Clock) -> dict[str, Any]:
    tz = clock.tz
    async with uow:
        s = uow.session
        a = await s.get(Assignment, assignment_id)
        if a is None:
            raise NotFound("dash.unknown_assignment", id=assignment_id)
        view.check(a.unit_id)
        target = await s.get(Target, a.target_id)
        assert target is not None and a.id is not None
        (st,) = await standings(s, as_of=clock.now().date(), tz=tz, assignment_ids=[a.id])
        plan = PacePlan(year=target.year, baseline=st.baseline, planned=st.planned, deadline=st.deadline,
                        milestones=parse_milestones(a.milestones), direction=target.direction)
        reports = (await s.exec(select(ProgressReport, Person.name)
                                .join(Person, col(Person.id) == col(ProgressReport.reporter_person_id))
                                .where(ProgressReport.assignment_id == a.id)
                                .order_by(col(ProgressReport.confirmed_at), col(ProgressReport.id)))).all()
        visits = (await s.exec(select(Inspection, Person.name)
                               .join(Person, col(Person.id) == col(Inspection.inspector_person_id))
                               .where(Inspection.assignment_id == a.id)
                               .order_by(col(Inspection.visited_at), col(Inspection.id)))).all()
        photos = await _photos(s, [r.id for r, _ in reports if r.id], [v.id for v, _ in visits if v.id])
    return {**standing_json(st), "category": target.category, "year": target.year,
            "line": expected_line(plan, clock.now().date()),
            "reports": [{"at": r.confirmed_at.astimezone(tz).isoformat(), "value": _num(r.value), "by": name,
                         "note": r.note, "correction": r.supersedes_id is not None} for r, name in reports],
            "inspections": [{"id": v.id, "at": v.visited_at.astimezone(tz).isoformat(), "by": name,
                             "verified": _num(v.verified_value), "claimed": _num(v.claimed_value),
                             "rating": v.rating, "findings": v.findings,
                             "flags": sorted({f.get("kind", "") for f in v.flags or []} - {""}),
                             "latitude": v.latitude, "longitude": v.longitude} for v, name in visits],
            "photos": photos}


async def _photos(s: AsyncSession, report_ids: list[int], visit_ids: list[int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if visit_ids:
        rows = (await s.exec(select(InspectionPhoto, EvidenceFile.mime_type)
                             .join(EvidenceFile, col(EvidenceFile.id) == col(InspectionPhoto.evidence_id))
                             .where(col(InspectionPhoto.inspection_id).in_(visit_ids))
                             .order_by(col(InspectionPhoto.id)))).all()
        out += [{"id": p.evidence_id, "source": "inspection", "visit": p.inspection_id,
                 "flags": sorted({f.get("kind", "") for f in p.flags or []} - {""})}
                for p, mime in rows if mime.startswith("image/")]
    if report_ids:
        rows2 = (await s.exec(select(ReportAttachment, EvidenceFile.mime_type)
                              .join(EvidenceFile, col(EvidenceFile.id) == col(ReportAttachment.evidence_id))
                              .where(col(ReportAttachment.report_id).in_(report_ids))
                              .order_by(col(ReportAttachment.id)))).all()
        out += [{"id": r.evidence_id, "source": "report", "flags": []} for r, mime in rows2
                if mime.startswith("image/")]
    return out


@dataclass(frozen=True)
class EvidenceRef:
    storage_key: str
    mime_type: str


async def evidence(view: View, evidence_id: int, *, uow: UnitOfWork) -> EvidenceRef:
    """An evidence file the person may open: a photo of a visit to a unit they see, or of a report on an
    assignment of such a unit. NotFound when there is no such file, Forbidden when it is another unit's."""
    async with uow:
        s = uow.session
        file = await s.get(EvidenceFile, evidence_id)
        if file is None:
            raise NotFound("dash.unknown_file", id=evidence_id)
        units = set((await s.exec(select(Inspection.unit_id)
                                  .join(InspectionPhoto, col(InspectionPhoto.inspection_id) == col(Inspection.id))
                                  .where(InspectionPhoto.evidence_id == evidence_id))).all())
        units |= set((await s.exec(select(Assignment.unit_id)
                                   .join(ProgressReport, col(ProgressReport.assignment_id) == col(Assignment.id))
                                   .join(ReportAttachment, col(ReportAttachment.report_id) == col(ProgressReport.id))
                                   .where(ReportAttachment.evidence_id == evidence_id))).all())
        if not units:
            raise NotFound("dash.unknown_file", id=evidence_id)
        if not any(view.sees(u) for u in units):
            view.check(next(iter(units)))
        return EvidenceRef(file.storage_key, file.mime_type)
