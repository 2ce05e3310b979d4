"""Files attached to an item or a note while a dialogue is open: what kinds are taken, how many, and recording
one (services/core/files.py: the same bytes once, within the person's limits). The draft keeps their ids
under ``photos`` (where the collection of orphaned evidence looks for them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.core import EvidenceFile
from models.db import UnitOfWork
from models.people import Person
from services.core.clock import Clock
from services.core.conversations import ConvRef
from services.core.dialogue import Dialogue, Turn
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


def file_steps(dialogue: Dialogue[Any], text_step: Any, then: Any, field: str, min_text: int,
               max_text: int) -> tuple[Callable[..., Awaitable[Any]], Callable[..., Awaitable[None]]]:
    """A dialogue's ``add_file`` and ``may_add_file``: files are taken at ``text_step`` and at ``then``; at
    ``text_step`` a caption of at least ``min_text`` characters is the draft's ``field`` and moves on to ``then``."""
    at = (text_step, then)

    async def add_file(f: IncomingFile, caption: str | None, limits: FileLimits, *, conv: ConvRef,
                       update_id: int | None, uow: UnitOfWork, clock: Clock) -> Any:
        async def work(turn: Turn[Any]) -> Any:
            d, person = turn.draft.data, turn.person
            assert person is not None
            d["photos"] = await store(turn.session, clock, person, f, d["photos"], limits)
            text = (caption or "").strip()
            if turn.draft.step == text_step and len(text) >= min_text:
                d[field] = text[:max_text]
                return await dialogue.move(turn, then)
            return await dialogue.move(turn, turn.draft.step, notice="items.file_added")
        return await dialogue.step(conv, update_id, uow, clock, at=at, work=work)

    async def may_add_file(size: int, limits: FileLimits, *, conv: ConvRef, uow: UnitOfWork, clock: Clock) -> None:
        """Before a file is fetched: the dialogue takes files now, and one more fits the limits."""
        async def check(turn: Turn[Any]) -> None:
            assert turn.person is not None
            await room(turn.session, clock, turn.person, turn.draft.data.get("photos") or [], size, limits)
        await dialogue.peek(conv, uow, clock, at=at, check=check)

    return add_file, may_add_file
