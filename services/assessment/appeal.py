"""The two chat dialogues of appeals, their state in ``conversation_states`` written with the update id
and the effect in one transaction (a restart or a redelivered update loses or repeats nothing):

* a cadre's ``/appeal``: AWAIT_REASON (their unit's published result is shown; the reason as text) →
  CONFIRM (Send / Cancel buttons) → the appeal is filed (services/assessment_round.file_appeal);
* the office's decision: Accept or Reject pressed on the appeal's message → AWAIT_TEXT (accept:
  "<points> <reason>", the signed correction first, 0 for none; reject: the reason) → decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UnitOfWork
from services.assessment import appeal_records
from services.assessment.appeal_records import AppealView, Standing
from services.core import conversations, updates
from services.core.clock import Clock
from services.core.conversations import ConvRef
from services.core.errors import DomainError
from services.people.viewer import active_person

CONVERSATION = "appeal"
DATA = "appeal.draft"
OFFICE_CONVERSATION = "appeal_office"
OFFICE_DATA = "appeal.decide"


class Step(StrEnum):
    AWAIT_REASON = "await_reason"
    CONFIRM = "confirm"


class OfficeStep(StrEnum):
    AWAIT_TEXT = "await_text"


@dataclass(frozen=True)
class Draft:
    standing: Standing
    reason: str = ""


async def _load(s: AsyncSession, name: str, conv: ConvRef) -> dict[str, Any] | None:
    return await conversations.get(s, name, conv.key)


async def _set(s: AsyncSession, clock: Clock, conv: ConvRef, step: Step | None, data: dict[str, Any] | None) -> None:
    await conversations.put(s, clock, DATA, conv.key, data if step else None)
    await conversations.put(s, clock, CONVERSATION, conv.key, step.value if step else None)


# ---------------------------------------------------------------------------------- the cadre's appeal
async def begin(*, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Draft:
    """/appeal: the unit's published result and the window; the next text is the reason."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        person = await active_person(s, conv.user_id)
        standing = await appeal_records.appealable(s, clock, person)
        await _set(s, clock, conv, Step.AWAIT_REASON, {"year": standing.year})
        await uow.commit()
        return Draft(standing)


async def give_reason(text: str, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Draft:
    """The reason: kept, shown back with Send / Cancel. An empty or too long reason keeps the step."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        if await _load(s, DATA, conv) is None:
            raise DomainError("appeal.no_dialogue")
        person = await active_person(s, conv.user_id)
        try:
            standing = await appeal_records.appealable(s, clock, person)
        except DomainError:  # the window closed meanwhile...: the dialogue ends
            await _set(s, clock, conv, None, None)
            await uow.commit()
            raise
        reason = appeal_records.clean_reason(text)
        await _set(s, clock, conv, Step.CONFIRM, {"year": standing.year, "reason": reason})
        await uow.commit()
        return Draft(standing, reason)


async def confirm(*, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> AppealView:
    """Send pressed: the appeal is filed and the office told; the dialogue ends."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        data = await _load(s, DATA, conv)
        if data is None or not data.get("reason"):
            raise DomainError("appeal.no_dialogue")
        person = await active_person(s, conv.user_id)
        await _set(s, clock, conv, None, None)
        try:
            view = await appeal_records.file_appeal(s, clock, person, str(data["reason"]), update_id)
        except DomainError:  # the window closed meanwhile, another cadre appealed first...: the dialogue ends
            await uow.commit()
            raise
        await uow.commit()
        return view


async def cancel(*, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> bool:
    """/cancel or Cancel: drop the draft appeal; False if there was none."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        had = await _load(s, DATA, conv) is not None
        await _set(s, clock, conv, None, None)
        await uow.commit()
        return had


# ---------------------------------------------------------------------------------- the office's decision
async def _set_office(s: AsyncSession, clock: Clock, conv: ConvRef, data: dict[str, Any] | None) -> None:
    await conversations.put(s, clock, OFFICE_DATA, conv.key, data)
    await conversations.put(s, clock, OFFICE_CONVERSATION, conv.key, OfficeStep.AWAIT_TEXT.value if data else None)


async def begin_decision(appeal_id: int, accept: bool, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                         clock: Clock) -> AppealView:
    """Accept or Reject pressed: the next text is the decision (points and reason, or the reason).
    An appeal decided already is returned with ``already`` and no dialogue starts."""
    async with uow:
        s = uow.session
        await appeal_records.admin_person(s, conv.user_id)
        ap, _ = await appeal_records.pending_appeal(s, appeal_id)
        if ap.status != "pending":
            return await appeal_records.appeal_view(s, ap, already=True)
        await updates.claim(s, update_id, clock)
        await _set_office(s, clock, conv, {"appeal_id": appeal_id, "accept": accept})
        view = await appeal_records.appeal_view(s, ap)
        await uow.commit()
        return view


def split_points(text: str) -> tuple[Decimal, str]:
    """"+2.5 核实后补计" → (2.5, "核实后补计"); the points first, then the reason."""
    parts = text.strip().split(maxsplit=1)
    if not parts:
        raise DomainError("appeal.need_points_reason")
    points = appeal_records.parse_points(parts[0])
    if len(parts) < 2 or not parts[1].strip():
        raise DomainError("appeal.need_points_reason")
    return points, parts[1]


async def give_decision(text: str, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                        clock: Clock) -> AppealView:
    """The decision's text: the appeal is decided (correction, recomputation, the appellant told) and the
    dialogue ends. Text that does not parse keeps the step; an appeal decided meanwhile ends it."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        data = await _load(s, OFFICE_DATA, conv)
        if data is None:
            raise DomainError("appeal.no_decision")
        admin = await appeal_records.admin_person(s, conv.user_id)
        ap, rnd = await appeal_records.pending_appeal(s, int(data["appeal_id"]), lock=True)
        await _set_office(s, clock, conv, None)
        if ap.status != "pending":
            view = await appeal_records.appeal_view(s, ap, already=True)
            await uow.commit()
            return view
        accept = bool(data["accept"])
        points, reason = split_points(text) if accept else (None, text)
        view = await appeal_records.record_decision(s, clock, admin, ap, rnd, accept, reason, points)
        await uow.commit()
        return view


async def cancel_decision(*, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> bool:
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        had = await _load(s, OFFICE_DATA, conv) is not None
        await _set_office(s, clock, conv, None)
        await uow.commit()
        return had
