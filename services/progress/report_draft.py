"""The /report draft: its steps, what the cadre is shown of it, and the helpers every step uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.people import Person
from models.plan import Assignment, Target, Unit
from models.progress import ReportDraft
from services.core import conversations
from services.core.clock import Clock
from services.core.conversations import ConvRef
from services.core.errors import DomainError, StepMismatch
from services.people.viewer import active_person as _person
from services.people.viewer import cadre_unit_ids
from services.progress.standings import latest_reports

CONVERSATION = "report"
FAR_ABOVE_PLAN = Decimal("1.5")


class Step(StrEnum):
    CHOOSE_TARGET = "choose_target"
    AWAIT_VALUE = "await_value"
    CONFIRM_DECREASE = "confirm_decrease"
    AWAIT_REASON = "await_reason"
    CONFIRM_HIGH = "confirm_high"
    AWAIT_NOTE = "await_note"
    AWAIT_FILES = "await_files"
    CONFIRM = "confirm"
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Choice:
    assignment_id: int
    code: str
    title: str
    unit_name: str


@dataclass(frozen=True)
class Snapshot:
    """What the cadre is shown about the draft at any step."""

    draft_id: int
    step: Step
    target_code: str | None = None
    title: str | None = None
    measure: str = ""
    unit_name: str | None = None
    planned: Decimal | None = None
    last_value: Decimal | None = None
    last_reporter: str | None = None
    value: Decimal | None = None
    value_text: str | None = None
    note: str | None = None
    files: int = 0
    correction_reason: str | None = None
    choices: tuple[Choice, ...] = ()
    report_id: int | None = None
    # At confirmation: a colleague's report confirmed while this one was being written.
    other_value: Decimal | None = None
    other_reporter: str | None = None
    notice: str | None = None
    notice_params: dict[str, object] = field(default_factory=dict)


async def _open_draft(session: AsyncSession, person: Person) -> ReportDraft | None:
    return (
        await session.exec(
            select(ReportDraft).where(ReportDraft.person_id == person.id, ReportDraft.status == "open")
        )
    ).first()


async def _snapshot(session: AsyncSession, draft: ReportDraft, **extra: object) -> Snapshot:
    assert draft.id is not None
    base: dict[str, object] = {"draft_id": draft.id, "step": Step(draft.step)}
    if draft.assignment_id is not None:
        a = await session.get(Assignment, draft.assignment_id)
        assert a is not None
        target = await session.get(Target, a.target_id)
        unit = await session.get(Unit, a.unit_id)
        assert target is not None and unit is not None
        last = (await latest_reports(session, [draft.assignment_id])).get(draft.assignment_id)
        reporter = await session.get(Person, last.reporter_person_id) if last else None
        base.update(
            target_code=target.code, title=target.title, measure=target.measure, unit_name=unit.name,
            planned=a.planned_value, last_value=last.value if last else None,
            last_reporter=reporter.name if reporter else None,
        )
    base.update(value=draft.value, value_text=draft.value_text, note=draft.note,
                files=len(draft.attachments or []), correction_reason=draft.correction_reason,
                report_id=draft.report_id)
    base.update(extra)
    return Snapshot(**base)  # type: ignore[arg-type]


async def _move(session: AsyncSession, clock: Clock, draft: ReportDraft, step: Step, conv: ConvRef) -> None:
    draft.step = step.value
    draft.updated_at = clock.now()
    session.add(draft)
    state = step.value if step not in (Step.DONE, Step.CANCELLED) else None
    await conversations.put(session, clock, CONVERSATION, conv.key, state)


async def _allowed_assignment(session: AsyncSession, person: Person, assignment_id: int) -> Assignment:
    a = await session.get(Assignment, assignment_id)
    if a is None or a.unit_id not in await cadre_unit_ids(session, person):
        raise DomainError("report.not_your_target")
    target = await session.get(Target, a.target_id)
    if target is None or target.closed:
        raise DomainError("report.target_closed", code=target.code if target else "?")
    return a


async def _current(s: AsyncSession, conv: ConvRef, expected: tuple[Step, ...]) -> tuple[Person, ReportDraft]:
    person = await _person(s, conv.user_id)
    draft = await _open_draft(s, person)
    if draft is None:
        raise DomainError("report.no_draft")
    if Step(draft.step) not in expected:
        raise StepMismatch(await _snapshot(s, draft))
    return person, draft


async def _target_of(s: AsyncSession, draft: ReportDraft) -> Target:
    a = await s.get(Assignment, draft.assignment_id)
    assert a is not None
    target = await s.get(Target, a.target_id)
    assert target is not None
    return target
