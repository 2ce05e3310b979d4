"""Files people send as evidence: recorded once per content (sha256, audited when first seen), within limits
(files per draft, megabytes per person per day), and collected when nothing refers to them any more.

A file is stored (services/core/storage.py) before the step that records it runs; a step refused, a draft
cancelled or abandoned leaves bytes (and maybe a row) that nothing confirmed refers to. ``collect_orphans``
(run by the scheduler's tick) removes them once the grace period has passed: rows no report, inspection or
supervision item refers to and no draft names, and stored bytes without a row."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.alerts import WarningNotice
from models.core import ConversationState, EvidenceFile
from models.db import UnitOfWork
from models.inspection import EvidenceFacts, InspectionPhoto
from models.items import ItemFile
from models.people import Person
from models.progress import ReportAttachment
from services.core import audit, kv
from services.core.clock import Clock
from services.core.errors import DomainError
from services.core.storage import Storage

MB = 1024 * 1024


@dataclass(frozen=True)
class FileLimits:
    """How much one person may store: files in one draft, megabytes a day (their new files' sizes)."""

    per_draft: int = 20
    mb_per_day: int = 200


async def check_room(session: AsyncSession, clock: Clock, person: Person, *, size: int, in_draft: int,
                     limits: FileLimits) -> None:
    """Refuse (DomainError) a file of ``size`` bytes that would pass the draft's or the day's limit."""
    if in_draft >= limits.per_draft:
        raise DomainError("files.draft_full", max=limits.per_draft)
    start = datetime.combine(clock.now().date(), datetime.min.time(), tzinfo=clock.tz)
    used = (await session.exec(select(func.coalesce(func.sum(EvidenceFile.size), 0)).where(
        EvidenceFile.uploaded_by_person_id == person.id, col(EvidenceFile.created_at) >= start))).one()
    if int(used) + size > limits.mb_per_day * MB:
        raise DomainError("files.day_full", mb=limits.mb_per_day)


async def record_file(
    session: AsyncSession, clock: Clock, person: Person, *, sha256: str, size: int, mime_type: str,
    storage_key: str, telegram_file_id: str, telegram_file_unique_id: str | None, kind: str,
) -> EvidenceFile:
    """The evidence row of these bytes: the existing one, or a new one (audited) in the caller's transaction."""
    evidence = (await session.exec(select(EvidenceFile).where(EvidenceFile.sha256 == sha256))).first()
    if evidence is not None:
        return evidence
    evidence = EvidenceFile(sha256=sha256, size=size, mime_type=mime_type[:100], storage_key=storage_key,
                            telegram_file_id=telegram_file_id, telegram_file_unique_id=telegram_file_unique_id,
                            uploaded_by_person_id=person.id, created_at=clock.now())
    session.add(evidence)
    await session.flush()
    audit.record(session, clock, actor=f"person:{person.code}", action="evidence.store", entity="evidence",
                 key=sha256, after={"size": size, "mime": mime_type, "kind": kind})
    return evidence


@dataclass(frozen=True)
class IncomingFile:
    """A file a user sent, already fetched and stored (by content); not yet recorded."""

    data: bytes
    sha256: str
    storage_key: str
    mime_type: str
    telegram_file_id: str
    telegram_file_unique_id: str | None
    kind: str  # photo / document
    file_name: str | None


def _draft_evidence(value: Any) -> set[int]:
    """Evidence ids a draft names: under ``evidence_id`` keys, and the ints of ``photos`` lists."""
    found: set[int] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "evidence_id" and isinstance(item, int):
                found.add(item)
            elif key == "photos" and isinstance(item, list):
                found |= {i for i in item if isinstance(i, int)}
            found |= _draft_evidence(item)
    elif isinstance(value, list):
        for item in value:
            found |= _draft_evidence(item)
    return found


async def collect_orphans(*, storage: Storage, grace: timedelta, uow: UnitOfWork, clock: Clock) -> int:
    """Remove evidence nothing refers to, stored longer ago than ``grace``: rows no report, inspection or
    supervision item refers to and no draft names (with their analysed facts and their bytes), and stored bytes
    without a row. Audited when anything goes; returns how many files went."""
    cutoff = clock.now() - grace
    async with uow:
        s = uow.session
        referenced = select(ReportAttachment.evidence_id).union(
            select(InspectionPhoto.evidence_id), select(ItemFile.evidence_id),
            select(WarningNotice.evidence_id).where(col(WarningNotice.evidence_id).is_not(None)))
        rows = (await s.exec(select(EvidenceFile).where(
            col(EvidenceFile.created_at) < cutoff, col(EvidenceFile.id).not_in(referenced)))).all()
        drafts = (await s.exec(select(ConversationState.state).where(
            col(ConversationState.name).like("%.draft")))).all()
        named = set().union(*(_draft_evidence(d if not isinstance(d, str) else json.loads(d)) for d in drafts))
        gone = [r for r in rows if r.id not in named]
        ids = [r.id for r in gone]
        if ids:
            await s.exec(delete(EvidenceFacts).where(col(EvidenceFacts.evidence_id).in_(ids)))  # type: ignore[call-overload]
            await s.exec(delete(EvidenceFile).where(col(EvidenceFile.id).in_(ids)))  # type: ignore[call-overload]
        keys = set((await s.exec(select(EvidenceFile.storage_key))).all())
        stale = cutoff.timestamp()
        loose = [key for key, mtime in storage.stored() if key not in keys and mtime < stale]
        removed = sorted({r.storage_key for r in gone} | set(loose))
        if removed:
            audit.record(s, clock, actor="system", action="evidence.collect", entity="evidence", key=str(len(removed)),
                         after={"files": len(removed), "rows": len(ids), "grace_days": grace.days})
        await uow.commit()
    for key in removed:  # after the commit: a rolled-back collection never loses bytes a row still names
        storage.delete(key)
    return len(removed)


COLLECTED_ON = "evidence.collected_on"  # kv: the last day the orphans were collected


async def collect_orphans_daily(moment: datetime, *, storage: Storage, grace: timedelta, db_uow: UnitOfWork,
                                marker_uow: UnitOfWork, clock: Clock) -> int | None:
    """``collect_orphans`` at the first scheduler run of each day (None: already done today)."""
    day = moment.astimezone(clock.tz).date().isoformat()
    if await kv.get(COLLECTED_ON, uow=marker_uow) == day:
        return None
    count = await collect_orphans(storage=storage, grace=grace, uow=db_uow, clock=clock)
    await kv.put(COLLECTED_ON, day, uow=marker_uow, clock=clock)
    return count
