"""The one dialogue skeleton every chat dialogue stands on (/report, /inspect, /adjust, rectification,
the notice edit, /assess, /appeal and the office's decision, the survey's comment).

A dialogue is a *draft* moved one step per update. The draft is a JSON object kept in
``conversation_states`` under ``<name>.draft``, beside PTB's state of the conversation ``<name>`` (our
persistence, bot/app/persistence.py); both are written in the transaction of the step's effect, with the
update id (services/core/updates.py). So a kill at any point leaves the user at the step the database
says, a redelivered update changes nothing, and a restart resumes where the user was.

What every dialogue does, done once here:
- ``open``: a new draft (replacing an unfinished one), numbered by a ``serial`` its Confirm button carries;
- ``step``: one input at the steps that take it; anywhere else the update is a StepMismatch (the handler
  re-prompts the step the draft is at); no draft is ``NoDraft``;
- ``confirm``: the one step that writes the effect; a second press of the same Confirm answers like the
  first (the draft stays, at ``done``, until a new dialogue replaces it), an old summary's Confirm
  re-prompts the dialogue in progress;
- ``cancel`` drops the draft, ``resume`` tells where it stands (to re-prompt after a stray message).

Refusals are exceptions (services/core/errors.py): a DomainError keeps the step, a DialogueEnded (no draft,
not registered, deactivated, ...) ends the dialogue.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UnitOfWork
from models.people import Person
from services.core import conversations, updates
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.conversations import ConvRef
from services.core.errors import AlreadyDone, DialogueEnded, StepMismatch

S = TypeVar("S")  # what a dialogue shows of its draft at any step (its Snapshot)
T = TypeVar("T")
DONE = "done"
KEEP_DONE = 20  # finished drafts kept per user and dialogue, so that an old summary's Confirm still answers


class NoDraft(DialogueEnded):
    """No dialogue of this kind is in progress (it was cancelled, finished, or never begun)."""


@dataclass
class Draft:
    """A dialogue in progress: which one (``serial``), the step it is at, and what the user gave so far."""

    serial: int
    step: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**self.data, "serial": self.serial, "step": self.step}

    @classmethod
    def from_json(cls, value: Any) -> Draft | None:
        if not isinstance(value, dict) or "serial" not in value or "step" not in value:
            return None
        data = {k: v for k, v in value.items() if k not in ("serial", "step")}
        return cls(int(value["serial"]), str(value["step"]), data)


@dataclass(frozen=True)
class Turn(Generic[S]):
    """The inside of one step: the session, the person (None for a public dialogue) and the draft."""

    session: AsyncSession
    clock: Clock
    conv: ConvRef
    person: Person | None
    draft: Draft


class Dialogue(ABC, Generic[S]):
    """One kind of dialogue. A subclass names it and says what its draft looks like (``snapshot``)."""

    name: str  # PTB's conversation name; the draft is kept as "<name>.draft"
    no_draft: str  # the message id of "no such dialogue in progress"
    registered: bool = True  # every step needs an active registered person (False: anyone, e.g. the survey)

    @property
    def draft_name(self) -> str:
        return f"{self.name}.draft"

    @property
    def done_name(self) -> str:
        return f"{self.name}.done"

    @abstractmethod
    async def snapshot(self, s: AsyncSession, clock: Clock, draft: Draft, **extra: Any) -> S:
        """What the user is shown of ``draft`` (``extra``: a notice, the result of the step, ...)."""

    # ------------------------------------------------------------------------------ inside a transaction
    async def load(self, s: AsyncSession, conv: ConvRef, *, lock: bool = False) -> Draft | None:
        """The draft (its row read together with PTB's state, which ``save`` then writes without reading)."""
        row = (await conversations.rows(s, conv.key, [self.draft_name, self.name], lock=lock))[self.draft_name]
        return Draft.from_json(row.state) if row is not None else None

    async def save(self, s: AsyncSession, clock: Clock, conv: ConvRef, draft: Draft) -> None:
        """Write the draft and PTB's state with it (none once the draft is done: the next message starts afresh).
        A finished draft is also kept among the user's last ``KEEP_DONE`` of this dialogue."""
        await conversations.put(s, clock, self.draft_name, conv.key, draft.to_json())
        await conversations.put(s, clock, self.name, conv.key, None if draft.step == DONE else draft.step)
        if draft.step == DONE:
            done = [d for d in await self._done(s, conv) if d.get("serial") != draft.serial][-(KEEP_DONE - 1):]
            await conversations.put(s, clock, self.done_name, conv.key, [*done, draft.to_json()])

    async def _done(self, s: AsyncSession, conv: ConvRef) -> list[dict[str, Any]]:
        row = (await conversations.rows(s, conv.key, [self.done_name]))[self.done_name]
        return list(row.state) if row is not None and isinstance(row.state, list) else []

    async def finished(self, s: AsyncSession, conv: ConvRef, serial: int) -> Draft | None:
        """The user's finished draft ``serial``, if it is among the last kept."""
        found = next((d for d in await self._done(s, conv) if d.get("serial") == serial), None)
        return Draft.from_json(found) if found is not None else None

    async def open(self, s: AsyncSession, clock: Clock, conv: ConvRef, step: str, data: dict[str, Any],
                   *, serial: int | None) -> Draft:
        """A new draft at ``step`` (an unfinished one is replaced); ``serial``: the update id that opened it."""
        draft = Draft(serial or int(clock.now().timestamp()), step, dict(data))
        await self.save(s, clock, conv, draft)
        return draft

    async def move(self, turn: Turn[S], step: str, **extra: Any) -> S:
        """The draft goes to ``step`` (``DONE``: the dialogue ends, the draft stays for a second Confirm)."""
        turn.draft.step = step
        await self.save(turn.session, turn.clock, turn.conv, turn.draft)
        return await self.snapshot(turn.session, turn.clock, turn.draft, **extra)

    async def drop(self, s: AsyncSession, clock: Clock, conv: ConvRef) -> bool:
        """Forget the dialogue (draft and state); True if one was in progress."""
        draft = await self.load(s, conv)
        await conversations.put(s, clock, self.draft_name, conv.key, None)
        await conversations.put(s, clock, self.name, conv.key, None)
        return draft is not None and draft.step != DONE

    async def person(self, s: AsyncSession, conv: ConvRef) -> Person | None:
        return await active_person(s, conv.user_id) if self.registered else None

    # ------------------------------------------------------------------------------ whole steps
    async def _run(self, conv: ConvRef, uow: UnitOfWork, clock: Clock,
                   body: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """``body`` in one transaction, committed. A DialogueEnded refusal rolls the step back and ends the
        dialogue in the database too (its draft and state go), then reaches the handler."""
        try:
            async with uow:
                out = await body(uow.session)
                await uow.commit()
                return out
        except DialogueEnded:
            async with uow:
                await self.drop(uow.session, clock, conv)
                await uow.commit()
            raise

    async def begin(self, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock,
                    start: Callable[[AsyncSession, Person | None], Awaitable[T]]) -> T:
        """A dialogue's first step: ``start`` opens the draft (and may go further) in the update's transaction."""
        async def body(s: AsyncSession) -> T:
            await updates.claim(s, update_id, clock)
            return await start(s, await self.person(s, conv))
        return await self._run(conv, uow, clock, body)

    async def step(self, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock, *,
                   at: Iterable[str] | None, work: Callable[[Turn[S]], Awaitable[T]]) -> T:
        """One input at one of the steps ``at`` (None: any step): ``work`` does it and moves the draft on, in
        the update's transaction. Another step: StepMismatch; no dialogue: NoDraft."""
        async def body(s: AsyncSession) -> T:
            await updates.claim(s, update_id, clock)
            return await work(await self._turn(s, clock, conv, at))
        return await self._run(conv, uow, clock, body)

    async def confirm(self, serial: int | None, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                      clock: Clock, *, at: Iterable[str], work: Callable[[Turn[S]], Awaitable[S]],
                      already: str | None = None) -> S:
        """The press of Confirm on summary ``serial`` (None: the dialogue in progress): ``work`` writes the
        effect and ends the dialogue. Pressed again after that, even while a new dialogue is in progress:
        AlreadyDone with what the first press did (and the notice ``already``)."""
        async def body(s: AsyncSession) -> S:
            person = await self.person(s, conv)
            draft = await self.load(s, conv, lock=True)
            if draft is not None and draft.step == DONE and serial in (None, draft.serial):
                raise AlreadyDone(await self.snapshot(s, clock, draft, notice=already))
            if serial is not None and (draft is None or draft.serial != serial):
                old = await self.finished(s, conv, serial)
                if old is not None:
                    raise AlreadyDone(await self.snapshot(s, clock, old, notice=already))
            if draft is None or draft.step == DONE:
                raise NoDraft(self.no_draft)
            if serial not in (None, draft.serial) or draft.step not in set(at):
                raise StepMismatch(await self.snapshot(s, clock, draft))  # an old summary: re-prompt this one
            await updates.claim(s, update_id, clock)
            return await work(Turn(s, clock, conv, person, draft))
        return await self._run(conv, uow, clock, body)

    async def peek(self, conv: ConvRef, uow: UnitOfWork, clock: Clock, *, at: Iterable[str],
                   check: Callable[[Turn[S]], Awaitable[None]]) -> None:
        """Whether the dialogue would take an input now, before the work of fetching it (a file's download):
        the same StepMismatch and NoDraft as ``step``, and ``check``'s refusals. Reads only."""
        async with uow:
            await check(await self._turn(uow.session, clock, conv, at))

    async def cancel(self, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> bool:
        """/cancel or a Cancel button: drop the dialogue, write nothing else; False if none was in progress."""
        async with uow:
            await updates.claim(uow.session, update_id, clock)
            had = await self.drop(uow.session, clock, conv)
            await uow.commit()
            return had

    async def resume(self, *, conv: ConvRef, uow: UnitOfWork, clock: Clock) -> S | None:
        """Where the dialogue in progress stands (to re-prompt it after a stray message); None if none is."""
        async with uow:
            s = uow.session
            await self.person(s, conv)
            draft = await self.load(s, conv)
            if draft is None or draft.step == DONE:
                return None
            return await self.snapshot(s, clock, draft)

    async def _turn(self, s: AsyncSession, clock: Clock, conv: ConvRef, at: Iterable[str] | None) -> Turn[S]:
        person = await self.person(s, conv)
        draft = await self.load(s, conv)
        if draft is None or draft.step == DONE:
            raise NoDraft(self.no_draft)
        if at is not None and draft.step not in set(at):
            raise StepMismatch(await self.snapshot(s, clock, draft))
        return Turn(s, clock, conv, person, draft)
