"""Recording a stored file as evidence: one row per content (sha256), audited when first seen."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.core import EvidenceFile
from models.people import Person
from services.core import audit
from services.core.clock import Clock


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
