"""Recorded site visits: /visits (who may read which), and the earlier uses of a photo's evidence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.core import EvidenceFile
from models.db import UnitOfWork
from models.enums import Role
from models.inspection import EvidenceFacts, Inspection, InspectionPhoto
from models.people import Person, RoleMembership
from models.plan import Assignment, Target, Unit
from models.progress import ProgressReport, ReportAttachment
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.errors import DomainError
from services.inspection.evidence import PHASH_THRESHOLD, PhotoFacts, PriorUse, phash_distance
from services.people.viewer import cadre_unit_ids

RECENT = 20


# --- earlier uses of evidence --------------------------------------------------------------------


def _matches(facts: PhotoFacts, sha256: str, phash: str | None) -> bool:
    if sha256 == facts.sha256:
        return True
    if facts.phash is None or phash is None:
        return False
    try:
        return phash_distance(facts.phash, phash) <= PHASH_THRESHOLD
    except ValueError:
        return False


async def prior_uses(
    s: AsyncSession, facts: PhotoFacts, unit_id: int, tz: ZoneInfo
) -> tuple[list[PriorUse], dict[str, dict[str, Any]]]:
    """Evidence with the same bytes or a near perceptual hash, recorded for a confirmed inspection (any:
    the visit being drafted has none yet) or attached to a report of another unit; earliest first.

    Each use's ``visit_label`` is a key of the returned dict, which names the use for the message
    (``use``: inspection / report, ``number``, ``unit``, ``unit_code``, ``date``).
    """
    wanted = EvidenceFile.sha256 == facts.sha256
    if facts.phash is not None:
        wanted = or_(wanted, col(EvidenceFacts.phash).is_not(None))
    inspections = (
        await s.exec(
            select(InspectionPhoto.evidence_id, EvidenceFile.sha256, EvidenceFacts.phash, Inspection.id,
                   Inspection.visited_at, Unit.code, Unit.name)
            .join(Inspection, col(Inspection.id) == col(InspectionPhoto.inspection_id))
            .join(Unit, col(Unit.id) == col(Inspection.unit_id))
            .join(EvidenceFile, col(EvidenceFile.id) == col(InspectionPhoto.evidence_id))
            .join(EvidenceFacts, col(EvidenceFacts.evidence_id) == col(InspectionPhoto.evidence_id), isouter=True)
            .where(wanted)
        )
    ).all()
    reports = (
        await s.exec(
            select(ReportAttachment.evidence_id, EvidenceFile.sha256, EvidenceFacts.phash, ProgressReport.id,
                   ProgressReport.confirmed_at, Unit.code, Unit.name)
            .join(ProgressReport, col(ProgressReport.id) == col(ReportAttachment.report_id))
            .join(Assignment, col(Assignment.id) == col(ProgressReport.assignment_id))
            .join(Unit, col(Unit.id) == col(Assignment.unit_id))
            .join(EvidenceFile, col(EvidenceFile.id) == col(ReportAttachment.evidence_id))
            .join(EvidenceFacts, col(EvidenceFacts.evidence_id) == col(ReportAttachment.evidence_id), isouter=True)
            .where(wanted, Assignment.unit_id != unit_id)
        )
    ).all()
    found: list[tuple[datetime, PriorUse]] = []
    labels: dict[str, dict[str, Any]] = {}
    for use, rows in (("inspection", inspections), ("report", reports)):
        for evidence_id, sha256, phash, number, at, code, name in rows:
            if not _matches(facts, sha256, phash):
                continue
            label = f"{use}:{number}"
            labels[label] = {"use": use, "number": number, "unit": name, "unit_code": code,
                             "date": at.astimezone(tz).date().isoformat()}
            found.append((at, PriorUse(evidence_id, sha256, phash, label, code)))
    found.sort(key=lambda item: item[0])
    return [use for _, use in found], labels


# --- /visits -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    inspection_id: int
    visited_at: datetime
    unit_code: str
    unit_name: str
    target_code: str | None
    target_title: str | None
    rating: str
    inspector: str
    flags: tuple[str, ...]


async def recent_visits(
    telegram_user_id: int, unit_code: str | None, *, uow: UnitOfWork, clock: Clock, limit: int = RECENT
) -> list[Visit]:
    """The latest inspections the person may read: the office and leaders all, an inspector their own,
    a cadre their units' (several roles: the union); optionally of one unit."""
    async with uow:
        s = uow.session
        person = await active_person(s, telegram_user_id)
        roles = set((await s.exec(select(RoleMembership.role).where(RoleMembership.person_id == person.id))).all())
        query = (
            select(Inspection, Unit, Person, Target)
            .join(Unit, col(Unit.id) == col(Inspection.unit_id))
            .join(Person, col(Person.id) == col(Inspection.inspector_person_id))
            .join(Assignment, col(Assignment.id) == col(Inspection.assignment_id), isouter=True)
            .join(Target, col(Target.id) == col(Assignment.target_id), isouter=True)
        )
        if not roles & {Role.ADMIN.value, Role.LEADER.value}:
            allowed = []
            if Role.INSPECTOR.value in roles:
                allowed.append(col(Inspection.inspector_person_id) == person.id)
            units = await cadre_unit_ids(s, person)
            if units:
                allowed.append(col(Inspection.unit_id).in_(units))
            if not allowed:
                raise DomainError("visits.not_allowed")
            query = query.where(or_(*allowed))
        if unit_code is not None:
            unit = (await s.exec(select(Unit).where(func.lower(Unit.code) == unit_code.strip().lower()))).first()
            if unit is None:
                raise DomainError("visits.unknown_unit", code=unit_code.strip()[:32])
            query = query.where(Inspection.unit_id == unit.id)
        rows = (await s.exec(
            query.order_by(col(Inspection.visited_at).desc(), col(Inspection.id).desc()).limit(limit)
        )).all()
        out = []
        for inspection, unit, inspector, target in rows:
            kinds = tuple(dict.fromkeys(f["kind"] for f in inspection.flags or []))
            out.append(Visit(
                inspection_id=inspection.id or 0, visited_at=inspection.visited_at.astimezone(clock.tz),
                unit_code=unit.code, unit_name=unit.name, target_code=target.code if target else None,
                target_title=target.title if target else None, rating=inspection.rating, inspector=inspector.name,
                flags=kinds,
            ))
        return out
