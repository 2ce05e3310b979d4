"""The /report dialogue as a service: a draft per person, moved one step per update.

Each step writes the draft, the conversation state and the update id in one transaction, so a
kill at any point leaves the user at the step the database says, and a redelivered update changes
nothing. Only ``confirm`` writes a report.
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UnitOfWork
from models.people import Person
from models.plan import Assignment, Target, Unit
from models.progress import ProgressReport, ReportAttachment, ReportDraft
from services.core import audit, conversations, updates
from services.core.clock import Clock
from services.core.conversations import ConvRef
from services.core.errors import DomainError
from services.core.files import IncomingFile, record_file
from services.people.viewer import cadre_unit_ids
from services.plan.values import ValueParseError, parse_value
from services.progress.report_draft import (
    CONVERSATION,
    FAR_ABOVE_PLAN,
    Choice,
    Snapshot,
    Step,
    StepMismatch,
    _allowed_assignment,
    _current,
    _move,
    _open_draft,
    _person,
    _snapshot,
    _target_of,
)
from services.progress.standings import latest_reports

__all__ = ["CONVERSATION", "Choice", "ConvRef", "Snapshot", "Step", "StepMismatch"]

async def begin(
    code: str | None, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock
) -> Snapshot:
    """/report [code]: a fresh draft; the choice of targets, or straight to the value."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        person = await _person(s, conv.user_id)
        units = await cadre_unit_ids(s, person)
        if not units:
            raise DomainError("report.no_units")
        old = await _open_draft(s, person)
        if old is not None:
            old.status = "cancelled"
            s.add(old)
        rows = (
            await s.exec(
                select(Assignment, Target, Unit)
                .join(Target, col(Target.id) == col(Assignment.target_id))
                .join(Unit, col(Unit.id) == col(Assignment.unit_id))
                .where(col(Assignment.unit_id).in_(units))
                .order_by(col(Target.deadline), col(Target.code))
            )
        ).all()
        draft = ReportDraft(person_id=person.id, chat_id=conv.chat_id, step=Step.CHOOSE_TARGET.value,
                            created_at=clock.now(), updated_at=clock.now(), attachments=[])
        s.add(draft)
        await s.flush()
        if code is not None:
            match = next((a for a, t, _ in rows if t.code.lower() == code.strip().lower()), None)
            if match is None:
                raise DomainError("report.not_your_target")
            assert match.id is not None
            return await _choose(s, clock, draft, person, match.id, conv, uow)  # refuses a closed target
        rows = [(a, t, u) for a, t, u in rows if not t.closed]
        if not rows:
            raise DomainError("report.nothing_to_report")
        await _move(s, clock, draft, Step.CHOOSE_TARGET, conv)
        choices = tuple(Choice(a.id or 0, t.code, t.title, u.name) for a, t, u in rows)
        snap = await _snapshot(s, draft, choices=choices)
        await uow.commit()
        return snap


async def _choose(
    s: AsyncSession, clock: Clock, draft: ReportDraft, person: Person, assignment_id: int, conv: ConvRef,
    uow: UnitOfWork,
) -> Snapshot:
    await _allowed_assignment(s, person, assignment_id)
    draft.assignment_id = assignment_id
    last = (await latest_reports(s, [assignment_id])).get(assignment_id)
    draft.last_seen_report_id = last.id if last else None
    await _move(s, clock, draft, Step.AWAIT_VALUE, conv)
    await s.flush()
    snap = await _snapshot(s, draft)
    await uow.commit()
    return snap


async def choose(
    assignment_id: int, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock
) -> Snapshot:
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        person, draft = await _current(s, conv, (Step.CHOOSE_TARGET,))
        return await _choose(s, clock, draft, person, assignment_id, conv, uow)


async def give_value(
    text: str, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock
) -> Snapshot:
    """The cumulative value: parsed in the target's measure; a decrease or a value far above plan asks first."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        _, draft = await _current(s, conv, (Step.AWAIT_VALUE,))
        snap = await _snapshot(s, draft)
        try:
            parsed = parse_value(text, snap.measure)
        except ValueParseError as exc:
            raise DomainError(exc.key, **exc.params) from None
        draft.value, draft.value_text, draft.correction_reason = parsed.value, parsed.text, None
        target = await _target_of(s, draft)
        step = Step.AWAIT_NOTE
        if target.direction == "higher" and snap.last_value is not None and parsed.value < snap.last_value:
            step = Step.CONFIRM_DECREASE
        elif (target.direction == "higher" and snap.planned is not None and snap.planned > 0
              and parsed.value > snap.planned * FAR_ABOVE_PLAN):
            step = Step.CONFIRM_HIGH
        await _move(s, clock, draft, step, conv)
        await s.flush()
        out = await _snapshot(s, draft)
        await uow.commit()
        return out


async def decide(
    answer: str, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock
) -> Snapshot:
    """Buttons of the value checks: ``correct`` (a decrease, reason next), ``keep`` (far above plan is
    right), ``retype`` (enter the value again)."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        _, draft = await _current(s, conv, (Step.CONFIRM_DECREASE, Step.CONFIRM_HIGH))
        step = {
            ("correct", Step.CONFIRM_DECREASE): Step.AWAIT_REASON,
            ("keep", Step.CONFIRM_HIGH): Step.AWAIT_NOTE,
        }.get((answer, Step(draft.step)), Step.AWAIT_VALUE)
        if step == Step.AWAIT_VALUE:
            draft.value = draft.value_text = None
        await _move(s, clock, draft, step, conv)
        await s.flush()
        out = await _snapshot(s, draft)
        await uow.commit()
        return out


async def give_text(
    text: str | None, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock
) -> Snapshot:
    """A correction's reason, or the note (None = skip: keep what is there)."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        _, draft = await _current(s, conv, (Step.AWAIT_REASON, Step.AWAIT_NOTE))
        clean = (text or "").strip()
        if Step(draft.step) == Step.AWAIT_REASON:
            if len(clean) < 2:
                raise DomainError("report.reason_required")
            draft.correction_reason = clean[:1000]
            step = Step.AWAIT_NOTE
        else:
            if text is not None:
                draft.note = clean[:2000]
            step = Step.AWAIT_FILES
        await _move(s, clock, draft, step, conv)
        await s.flush()
        out = await _snapshot(s, draft)
        await uow.commit()
        return out


async def add_file(
    f: IncomingFile, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock
) -> Snapshot:
    """A supporting photo or document, already in storage; the same bytes are recorded once."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        person, draft = await _current(s, conv, (Step.AWAIT_FILES,))
        evidence = await record_file(s, clock, person, sha256=f.sha256, size=len(f.data), mime_type=f.mime_type,
                                     storage_key=f.storage_key, telegram_file_id=f.telegram_file_id,
                                     telegram_file_unique_id=f.telegram_file_unique_id, kind=f.kind)
        files = list(draft.attachments or [])
        if all(item["evidence_id"] != evidence.id for item in files):
            files.append({"evidence_id": evidence.id, "kind": f.kind, "file_name": f.file_name})
        draft.attachments = files
        await _move(s, clock, draft, Step.AWAIT_FILES, conv)
        await s.flush()
        out = await _snapshot(s, draft)
        await uow.commit()
        return out


async def to_summary(*, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock
) -> Snapshot:
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        _, draft = await _current(s, conv, (Step.AWAIT_FILES,))
        await _move(s, clock, draft, Step.CONFIRM, conv)
        await s.flush()
        out = await _snapshot(s, draft)
        await uow.commit()
        return out


async def edit(*, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock
) -> Snapshot:
    """Back to the value; the note and files are kept."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        _, draft = await _current(s, conv, (Step.CONFIRM,))
        await _move(s, clock, draft, Step.AWAIT_VALUE, conv)
        await s.flush()
        out = await _snapshot(s, draft)
        await uow.commit()
        return out


async def cancel(*, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> bool:
    """Drop the open draft (nothing is written); False if there was none."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        person = await _person(s, conv.user_id)
        draft = await _open_draft(s, person)
        await conversations.put(s, clock, CONVERSATION, conv.key, None)
        if draft is not None:
            draft.status = "cancelled"
            await _move(s, clock, draft, Step.CANCELLED, conv)
        await uow.commit()
        return draft is not None


async def confirm(
    draft_id: int, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock
) -> Snapshot:
    """Write the report, in the transaction of the update that confirmed it. A second press (or a
    redelivered update) writes nothing and returns what the first did."""
    async with uow:
        s = uow.session
        draft = await s.get(ReportDraft, draft_id)
        person = await _person(s, conv.user_id)
        if draft is None or draft.person_id != person.id:
            raise DomainError("report.no_draft")
        if draft.status == "confirmed":
            return await _snapshot(s, draft, notice="report.already_confirmed")
        if draft.status != "open" or Step(draft.step) != Step.CONFIRM:
            raise StepMismatch(await _snapshot(s, draft))
        await updates.claim(s, update_id, clock)
        assert draft.assignment_id is not None and draft.value is not None
        await _allowed_assignment(s, person, draft.assignment_id)
        latest = (await latest_reports(s, [draft.assignment_id])).get(draft.assignment_id)
        report = ProgressReport(
            assignment_id=draft.assignment_id, reporter_person_id=person.id, value=draft.value,
            note=draft.note or "", confirmed_at=clock.now(), update_id=update_id, draft_id=draft.id,
            supersedes_id=latest.id if latest and draft.correction_reason else None,
            correction_reason=draft.correction_reason,
        )
        s.add(report)
        await s.flush()
        for item in draft.attachments or []:
            s.add(ReportAttachment(report_id=report.id, evidence_id=item["evidence_id"], kind=item["kind"],
                                   file_name=item.get("file_name")))
        target = await _target_of(s, draft)
        unit = await s.get(Unit, (await s.get(Assignment, draft.assignment_id)).unit_id)  # type: ignore[union-attr]
        audit.record(s, clock, actor=f"person:{person.code}",
                     action="progress.correct" if draft.correction_reason else "progress.report",
                     entity="assignment", key=f"{target.code}/{unit.code if unit else '?'}",
                     before={"value": latest.value, "report": latest.id} if latest else None,
                     after={"value": draft.value, "report": report.id, "note": draft.note or "",
                            "files": len(draft.attachments or []), "reason": draft.correction_reason})
        meanwhile = latest is not None and latest.id != draft.last_seen_report_id
        other = latest if meanwhile and latest.reporter_person_id != person.id else None  # type: ignore[union-attr]
        other_name = (await s.get(Person, other.reporter_person_id)).name if other else None  # type: ignore[union-attr]
        draft.status = "confirmed"
        draft.report_id = report.id
        await _move(s, clock, draft, Step.DONE, conv)
        await s.flush()
        out = await _snapshot(s, draft, other_value=other.value if other else None, other_reporter=other_name)
        await uow.commit()
        return out


async def resume(*, conv: ConvRef, uow: UnitOfWork) -> Snapshot | None:
    """The open draft of this user, to re-prompt its step (after a restart or a stray message)."""
    async with uow:
        s = uow.session
        person = await _person(s, conv.user_id)
        draft = await _open_draft(s, person)
        return await _snapshot(s, draft) if draft else None
