"""Working on a part of a supervision item in chat: the ``itemwork`` dialogue on the skeleton
(services/core/dialogue.py), entered four ways, one kind each:

- ``progress`` (办理, a cadre of the unit, once signed for): NOTE → FILES (optional) → CONFIRM;
- ``report`` (办结, the same cadre): NOTE → FILES (at least one: the evidence) → CONFIRM; the verifier is told;
- ``issues`` (核查, the opener or an admin, on a reported part): COMMENT — the comment sends the part back to
  the unit (written with the comment);
- ``reject`` (the same): COMMENT — the reason closes the part as not done (不予销号).
A photo or document with a caption at NOTE is the note with its first file. The writes are
services/items/lifecycle.py's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UnitOfWork
from models.items import SupervisionItem
from models.people import Person
from services.calendar.workdays import read_calendar
from services.core.clock import Clock
from services.core.conversations import ConvRef
from services.core.dialogue import DONE, Dialogue, Draft, Turn
from services.core.errors import DomainError
from services.items import attach, lifecycle, records, scope
from services.items.lifecycle import Verdict
from services.items.records import ItemView

MIN_TEXT, MAX_TEXT = 2, 2000
VERDICTS = {"issues": Verdict.ISSUES, "reject": Verdict.REJECT}


class Step(StrEnum):
    NOTE = "note"
    FILES = "files"
    CONFIRM = "confirm"
    COMMENT = "comment"
    DONE = DONE  # the draft's ``kind`` says what was done


@dataclass(frozen=True)
class Snapshot:
    """What the user is shown of the dialogue at any step."""
    serial: int
    step: Step
    kind: str  # progress / report / issues / reject
    draft: dict[str, Any]  # part_id, item_id, note, photos (evidence ids), submission
    item: ItemView | None  # the item as it stands (its parts: the one worked on)
    notice: str | None = None


class ItemWorkDialogue(Dialogue[Snapshot]):
    name = "itemwork"
    no_draft = "items.no_draft"

    async def snapshot(self, s: AsyncSession, clock: Clock, draft: Draft, **extra: Any) -> Snapshot:
        d = draft.data
        found = await records.load(s, SupervisionItem.id == d.get("item_id"), now=clock.now(),
                                   cal=await read_calendar(s))
        item = found[0] if found else None
        if item is not None:  # only the part worked on
            item = replace(item, parts=tuple(p for p in item.parts if p.id == d.get("part_id")))
        return Snapshot(draft.serial, Step(draft.step), d["kind"], {**d, "serial": draft.serial}, item,
                        notice=extra.get("notice"))


DIALOGUE = ItemWorkDialogue()
cancel = DIALOGUE.cancel
resume = DIALOGUE.resume


async def begin(kind: str, part_id: int, submission: int | None = None, *, conv: ConvRef, update_id: int | None,
                uow: UnitOfWork, clock: Clock) -> Snapshot:
    """Start a note (``progress``), a completion report (``report``), or the verifier's ``issues`` / ``reject``
    of report ``submission`` (None: the latest)."""
    async def start(s: AsyncSession, person: Person | None) -> Snapshot:
        assert person is not None
        if kind in ("progress", "report"):
            part, item = await lifecycle.for_cadre(s, person, part_id, "signed")
            data: dict[str, Any] = {"photos": []}
        else:
            part, item = await lifecycle.locked(s, part_id)
            if not (await scope.reach(s, person)).may_verify(item):
                raise DomainError("items.not_verifier", number=item.id)
            if part.state != "reported" or submission not in (None, part.reports):
                raise DomainError("items.already_decided", number=item.id)
            data = {"submission": part.reports}
        data |= {"kind": kind, "part_id": part.id, "item_id": item.id}
        first = Step.NOTE if kind in ("progress", "report") else Step.COMMENT
        draft = await DIALOGUE.open(s, clock, conv, first, data, serial=update_id)
        return await DIALOGUE.snapshot(s, clock, draft)
    return await DIALOGUE.begin(conv, update_id, uow, clock, start)


async def advance(at: Step, value: str | None, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                  clock: Clock) -> Snapshot:
    """A text at NOTE or COMMENT (the comment decides), or None at FILES: the files are done."""
    clean = (value or "").strip()
    if at in (Step.NOTE, Step.COMMENT) and len(clean) < MIN_TEXT:
        raise DomainError("items.text_short", min=MIN_TEXT)

    async def work(turn: Turn[Snapshot]) -> Snapshot:
        d, person = turn.draft.data, turn.person
        assert person is not None
        if at == Step.NOTE:
            d["note"] = clean[:MAX_TEXT]
            return await DIALOGUE.move(turn, Step.FILES)
        if at == Step.FILES:
            if d["kind"] == "report" and not d["photos"]:
                raise DomainError("items.evidence_required")
            return await DIALOGUE.move(turn, Step.CONFIRM)
        done = await lifecycle.decide(turn.session, clock, person, d["part_id"], VERDICTS[d["kind"]],
                                      clean[:MAX_TEXT], d.get("submission"))
        return await DIALOGUE.move(turn, Step.DONE, notice=None if done else "items.already_decided")
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(at,), work=work)


# A photo or document at NOTE (its caption, if any, is the note) or at FILES.
add_file, may_add_file = attach.file_steps(DIALOGUE, Step.NOTE, Step.FILES, "note", MIN_TEXT,
                                              MAX_TEXT)


async def confirm(serial: int, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    """Write the note or the completion report, in the press's transaction; a second press answers like the
    first."""
    async def write(turn: Turn[Snapshot]) -> Snapshot:
        d, person = turn.draft.data, turn.person
        assert person is not None
        await lifecycle.write_note(turn.session, clock, person, d["part_id"], d["kind"], d["note"], d["photos"])
        return await DIALOGUE.move(turn, Step.DONE)
    return await DIALOGUE.confirm(serial, conv, update_id, uow, clock, at=(Step.CONFIRM,), work=write)
