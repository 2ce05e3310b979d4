"""The two chat dialogues of appeals (the skeleton of services/core/dialogue.py: a restart or a redelivered
update loses or repeats nothing); the records themselves are services/assessment/appeal_records.py.

* a cadre's ``/appeal``: AWAIT_REASON (their unit's published result is shown; the reason as text) →
  CONFIRM (Send / Cancel buttons; a new text replaces the reason) → the appeal is filed and the office told;
* the office's decision: Accept or Reject pressed on the appeal's message → AWAIT_TEXT (accept:
  "<points> <reason>", the signed correction first, 0 for none; reject: the reason) → decided.

Whatever ends the chance to appeal meanwhile (the window closed, another cadre appealed first) ends the
dialogue with the refusal; a text that does not parse keeps the step.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UnitOfWork
from models.people import Person
from services.assessment import appeal_records as appeals
from services.assessment.appeal_records import AppealView, Standing
from services.core.clock import Clock
from services.core.conversations import ConvRef
from services.core.dialogue import DONE, Dialogue, Draft, Turn
from services.core.errors import DialogueEnded, DomainError


class Step(StrEnum):
    AWAIT_REASON = "await_reason"
    CONFIRM = "confirm"
    DONE = DONE


class OfficeStep(StrEnum):
    AWAIT_TEXT = "await_text"
    DONE = DONE


@dataclass(frozen=True)
class Filing:
    """Where a cadre's appeal stands: the unit's published result, the reason so far, the appeal once filed."""
    serial: int
    step: str
    standing: Standing | None
    reason: str = ""
    filed: AppealView | None = None


@dataclass(frozen=True)
class Decision:
    """Where the office's decision stands: the appeal (``view.already``: decided before this press)."""
    serial: int
    step: str
    view: AppealView
    accept: bool


async def _standing(s: AsyncSession, clock: Clock, person: Person) -> Standing:
    """The unit's result while it may be appealed; anything else ends the dialogue."""
    try:
        return await appeals.appealable(s, clock, person)
    except DomainError as exc:
        raise DialogueEnded(exc.key, **exc.params) from None


async def _pending(s: AsyncSession, user_id: int, appeal_id: int, *, lock: bool = False) -> tuple[Any, Any, Any]:
    """The admin deciding and the appeal with its round; a refusal ends the office's dialogue."""
    try:
        admin = await appeals.admin_person(s, user_id)
        ap, rnd = await appeals.pending_appeal(s, appeal_id, lock=lock)
    except DomainError as exc:
        raise DialogueEnded(exc.key, **exc.params) from None
    return admin, ap, rnd


class AppealDialogue(Dialogue[Filing]):
    name = "appeal"
    no_draft = "appeal.no_dialogue"

    async def snapshot(self, s: AsyncSession, clock: Clock, draft: Draft, **extra: Any) -> Filing:
        filed = extra.get("filed")
        standing = None if filed is not None else extra.get("standing")
        return Filing(draft.serial, draft.step, standing, draft.data.get("reason", ""), filed)


class DecisionDialogue(Dialogue[Decision]):
    name = "appeal_office"
    no_draft = "appeal.no_decision"

    async def snapshot(self, s: AsyncSession, clock: Clock, draft: Draft, **extra: Any) -> Decision:
        view = extra.get("view")
        if view is None:
            ap, _ = await appeals.pending_appeal(s, int(draft.data["appeal_id"]))
            view = await appeals.appeal_view(s, ap)
        return Decision(draft.serial, draft.step, view, bool(draft.data["accept"]))


APPEAL = AppealDialogue()
DECISION = DecisionDialogue()
cancel = APPEAL.cancel
cancel_decision = DECISION.cancel


# ---------------------------------------------------------------------------------- the cadre's appeal
async def begin(*, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Filing:
    """/appeal: the unit's published result and the window; the next text is the reason."""
    async def start(s: AsyncSession, person: Person | None) -> Filing:
        assert person is not None
        standing = await _standing(s, clock, person)
        draft = await APPEAL.open(s, clock, conv, Step.AWAIT_REASON, {"year": standing.year}, serial=update_id)
        return await APPEAL.snapshot(s, clock, draft, standing=standing)
    return await APPEAL.begin(conv, update_id, uow, clock, start)


async def give_reason(text: str, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Filing:
    """The reason: kept, shown back with Send / Cancel. An empty or too long reason keeps the step."""
    async def work(turn: Turn[Filing]) -> Filing:
        assert turn.person is not None
        standing = await _standing(turn.session, clock, turn.person)
        turn.draft.data.update(year=standing.year, reason=appeals.clean_reason(text))
        return await APPEAL.move(turn, Step.CONFIRM, standing=standing)
    return await APPEAL.step(conv, update_id, uow, clock, at=(Step.AWAIT_REASON, Step.CONFIRM), work=work)


async def confirm(*, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Filing:
    """Send pressed: the appeal is filed and the office told; the dialogue ends."""
    async def write(turn: Turn[Filing]) -> Filing:
        assert turn.person is not None
        try:
            view = await appeals.file_appeal(turn.session, clock, turn.person, str(turn.draft.data["reason"]),
                                             update_id)
        except DomainError as exc:  # the window closed meanwhile, another cadre appealed first...
            raise DialogueEnded(exc.key, **exc.params) from None
        await APPEAL.drop(turn.session, clock, conv)
        return Filing(turn.draft.serial, DONE, None, turn.draft.data["reason"], view)
    return await APPEAL.confirm(None, conv, update_id, uow, clock, at=(Step.CONFIRM,), work=write)


# ---------------------------------------------------------------------------------- the office's decision
async def begin_decision(appeal_id: int, accept: bool, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                         clock: Clock) -> Decision:
    """Accept or Reject pressed: the next text is the decision (points and reason, or the reason).
    An appeal decided already is returned with ``already`` and no dialogue starts."""
    async def start(s: AsyncSession, person: Person | None) -> Decision:
        _, ap, _ = await _pending(s, conv.user_id, appeal_id)
        if ap.status != "pending":
            return Decision(0, DONE, await appeals.appeal_view(s, ap, already=True), accept)
        draft = await DECISION.open(s, clock, conv, OfficeStep.AWAIT_TEXT, {"appeal_id": appeal_id, "accept": accept},
                                    serial=update_id)
        return await DECISION.snapshot(s, clock, draft)
    return await DECISION.begin(conv, update_id, uow, clock, start)


def split_points(text: str) -> tuple[Decimal, str]:
    """"+2.5 核实后补计" → (2.5, "核实后补计"); the points first, then the reason."""
    parts = text.strip().split(maxsplit=1)
    if not parts:
        raise DomainError("appeal.need_points_reason")
    points = appeals.parse_points(parts[0])
    if len(parts) < 2 or not parts[1].strip():
        raise DomainError("appeal.need_points_reason")
    return points, parts[1]


async def give_decision(text: str, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                        clock: Clock) -> Decision:
    """The decision's text: the appeal is decided (correction, recomputation, the appellant told) and the
    dialogue ends. Text that does not parse keeps the step; an appeal decided meanwhile ends it."""
    async def work(turn: Turn[Decision]) -> Decision:
        s, d = turn.session, turn.draft.data
        admin, ap, rnd = await _pending(s, conv.user_id, int(d["appeal_id"]), lock=True)
        if ap.status != "pending":
            view = await appeals.appeal_view(s, ap, already=True)
        else:
            accept = bool(d["accept"])
            points, reason = split_points(text) if accept else (None, text)
            view = await appeals.record_decision(s, clock, admin, ap, rnd, accept, reason, points)
        await DECISION.drop(s, clock, conv)
        return Decision(turn.draft.serial, DONE, view, bool(d["accept"]))
    return await DECISION.step(conv, update_id, uow, clock, at=(OfficeStep.AWAIT_TEXT,), work=work)
