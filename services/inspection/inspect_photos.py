"""The photos step of a site visit (/inspect, services/inspection/inspect.py): a photo already stored is
recorded once by its content, analysed once (its facts: services/inspection/evidence.py), and flagged for
this visit (services/inspection/flags.py), within the limits of one draft and one person's day."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from models.core import EvidenceFile
from models.db import UnitOfWork
from models.inspection import EvidenceFacts
from services.core.clock import Clock
from services.core.conversations import ConvRef
from services.core.dialogue import Turn
from services.core.files import FileLimits, check_room, record_file
from services.inspection.evidence import PhotoFacts, distance_m
from services.inspection.flags import local_time, photo_flag_dicts, site_of, trusted_facts
from services.inspection.inspect import DIALOGUE, PhotoNote, Snapshot, Step, visit_at


@dataclass(frozen=True)
class IncomingPhoto:
    facts: PhotoFacts
    storage_key: str
    mime_type: str
    telegram_file_id: str
    telegram_file_unique_id: str | None
    compressed: bool  # sent as a Telegram photo, not as a file


async def may_add_photo(size: int, limits: FileLimits, *, conv: ConvRef, uow: UnitOfWork, clock: Clock) -> None:
    """Before a photo is fetched: the visit takes photos now, and one more of ``size`` bytes fits the limits."""
    async def check(turn: Turn[Snapshot]) -> None:
        assert turn.person is not None
        await check_room(turn.session, clock, turn.person, size=size,
                         in_draft=len(turn.draft.data.get("photos") or []), limits=limits)
    await DIALOGUE.peek(conv, uow, clock, at=(Step.AWAIT_PHOTOS,), check=check)


async def add_photo(p: IncomingPhoto, limits: FileLimits, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                    clock: Clock) -> Snapshot:
    """A site photo, already stored: recorded once by content, analysed once, flagged for this visit; within the
    limits of photos in one visit and megabytes a day."""
    async def work(turn: Turn[Snapshot]) -> Snapshot:
        s, d, f = turn.session, turn.draft.data, p.facts
        assert turn.person is not None
        known = (await s.exec(select(EvidenceFile.id).where(EvidenceFile.sha256 == f.sha256))).first()
        if known is None or all(item["evidence_id"] != known for item in d.get("photos") or []):
            await check_room(s, clock, turn.person, size=f.size if known is None else 0,
                             in_draft=len(d.get("photos") or []), limits=limits)
        evidence = await record_file(s, clock, turn.person, sha256=f.sha256, size=f.size, mime_type=p.mime_type,
                                     storage_key=p.storage_key, telegram_file_id=p.telegram_file_id,
                                     telegram_file_unique_id=p.telegram_file_unique_id, kind="inspection_photo")
        assert evidence.id is not None
        row = await s.get(EvidenceFacts, evidence.id)
        if row is None:
            row = EvidenceFacts(evidence_id=evidence.id, is_image=f.is_image, has_exif=f.has_exif,
                                taken_at=f.taken_at, latitude=f.latitude, longitude=f.longitude, width=f.width,
                                height=f.height, phash=f.phash)
            s.add(row)
        photos = list(d.get("photos") or [])
        known = [i for i, item in enumerate(photos) if item["evidence_id"] == evidence.id]
        if not known:
            photos.append({"evidence_id": evidence.id, "compressed": p.compressed})
        number = (known[0] if known else len(photos) - 1) + 1
        compressed = bool(photos[number - 1]["compressed"])
        d["photos"] = photos
        facts = trusted_facts(row, f.sha256, f.size, compressed)
        site = await site_of(s, d["unit_id"], d.get("assignment_id"))
        flags = await photo_flag_dicts(s, facts, number=number, compressed=compressed, visit_at=visit_at(turn.draft),
                                       unit_id=d["unit_id"], site=site, tz=clock.tz)
        distance = None
        if site is not None and facts.latitude is not None and facts.longitude is not None:
            distance = round(distance_m(site.latitude, site.longitude, facts.latitude, facts.longitude))
        note = PhotoNote(number=number, compressed=compressed, distance_m=distance, flags=tuple(flags),
                         taken_at=local_time(facts.taken_at, clock.tz) if facts.taken_at else None,
                         duplicate=bool(known))
        return await DIALOGUE.move(turn, Step.AWAIT_PHOTOS, last_photo=note)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(Step.AWAIT_PHOTOS,), work=work)
