"""Files attached to an item or a note while a dialogue is open: what kinds are taken, how many, and recording
one (services/core/files.py: the same bytes once, within the person's limits). The draft keeps their ids
under ``photos`` (where the collection of orphaned evidence looks for them)."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.core import EvidenceFile
from models.people import Person
from services.core.clock import Clock
from services.core.errors import DomainError
from services.core.files import FileLimits, IncomingFile, check_room, record_file

MAX_FILES = 10  # per item or per note
DOCUMENTS = ("application/pdf", "application/msword", "application/vnd.ms-excel", "text/plain",
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def accepted(mime: str | None) -> bool:
    """Photos and pictures, PDF, Word, Excel and plain text: what a government office sends as evidence."""
    mime = (mime or "").lower()
    return mime.startswith("image/") or mime in DOCUMENTS


async def room(s: AsyncSession, clock: Clock, person: Person, photos: list[int], size: int,
               limits: FileLimits) -> None:
    """Refuse one more file of ``size`` bytes for a draft holding ``photos``."""
    if len(photos) >= MAX_FILES:
        raise DomainError("items.too_many_files", max=MAX_FILES)
    await check_room(s, clock, person, size=size, in_draft=len(photos), limits=limits)


async def store(s: AsyncSession, clock: Clock, person: Person, f: IncomingFile, photos: list[int],
                limits: FileLimits) -> list[int]:
    """The draft's files with ``f`` recorded and added (the same bytes twice count once)."""
    if not accepted(f.mime_type):
        raise DomainError("items.file_kind")
    known = (await s.exec(select(EvidenceFile.id).where(EvidenceFile.sha256 == f.sha256))).first()
    if known is not None and known in photos:
        return photos
    await room(s, clock, person, photos, len(f.data) if known is None else 0, limits)
    evidence = await record_file(s, clock, person, sha256=f.sha256, size=len(f.data), mime_type=f.mime_type,
                                 storage_key=f.storage_key, telegram_file_id=f.telegram_file_id,
                                 telegram_file_unique_id=f.telegram_file_unique_id, kind=f.kind)
    return [*photos, evidence.id or 0]
