"""The /report dialogue as a service: a cadre's progress report, one step per update (the dialogue
skeleton, services/core/dialogue.py). Only ``confirm`` writes a report, with its files, audited.

Steps: /report [code] → CHOOSE_TARGET → AWAIT_VALUE → (CONFIRM_DECREASE → AWAIT_REASON | CONFIRM_HIGH) →
AWAIT_NOTE → AWAIT_FILES → CONFIRM → done. A value is read in the target's measure (services/plan/values.py);
a decrease is a correction and needs a reason; a value far above the plan is asked about once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.core import EvidenceFile
from models.db import UnitOfWork
from models.people import Person
from models.plan import Assignment, Target, Unit
from models.progress import ProgressReport, ReportAttachment
from services.core import audit
from services.core.clock import Clock
from services.core.conversations import ConvRef
from services.core.dialogue import DONE, Dialogue, Draft, Turn
from services.core.errors import DialogueEnded, DomainError
from services.core.files import FileLimits, IncomingFile, check_room, record_file
from services.people.viewer import cadre_unit_ids
from services.plan.rows import assignment_rows
from services.plan.values import ValueParseError, format_value, parse_value
from services.progress import review
from services.progress.effective import read_effective
from services.progress.standings import latest_reports

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
    DONE = DONE


@dataclass(frozen=True)
class Choice:
    assignment_id: int
    code: str
    title: str
    unit_name: str


@dataclass(frozen=True)
class Snapshot:
    """What the cadre is shown about the draft at any step."""

    serial: int
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


def _value(draft: Draft) -> Decimal | None:
    return Decimal(draft.data["value"]) if draft.data.get("value") is not None else None


class ReportDialogue(Dialogue[Snapshot]):
    name = "report"
    no_draft = "report.no_draft"

    async def snapshot(self, s: AsyncSession, clock: Clock, draft: Draft, **extra: Any) -> Snapshot:
        d = draft.data
        base: dict[str, Any] = {"serial": draft.serial, "step": Step(draft.step)}
        if d.get("assignment_id") is not None:
            a, target, unit = await _rows(s, d["assignment_id"])
            last = (await latest_reports(s, [d["assignment_id"]])).get(d["assignment_id"])
            reporter = await s.get(Person, last.reporter_person_id) if last else None
            base.update(target_code=target.code, title=target.title, measure=target.measure, unit_name=unit.name,
                        planned=a.planned_value, last_value=last.value if last else None,
                        last_reporter=reporter.name if reporter else None)
        base.update(value=_value(draft), value_text=d.get("value_text"), note=d.get("note"),
                    files=len(d.get("attachments") or []), correction_reason=d.get("correction_reason"),
                    report_id=d.get("report_id"))
        base.update({k: v for k, v in extra.items() if v is not None})
        return Snapshot(**base)


DIALOGUE = ReportDialogue()
cancel = DIALOGUE.cancel
resume = DIALOGUE.resume


async def _rows(s: AsyncSession, assignment_id: int) -> tuple[Assignment, Target, Unit]:
    rows = await assignment_rows(s, assignment_id)
    if rows is None:
        raise DialogueEnded("report.no_draft")
    return rows


async def _allowed_assignment(s: AsyncSession, person: Person, assignment_id: int) -> Assignment:
    a = await s.get(Assignment, assignment_id)
    if a is None or a.unit_id not in await cadre_unit_ids(s, person):
        raise DomainError("report.not_your_target")
    target = await s.get(Target, a.target_id)
    if target is None or target.closed:
        raise DomainError("report.target_closed", code=target.code if target else "?")
    return a


async def _choose(turn: Turn[Snapshot], assignment_id: int) -> Snapshot:
    assert turn.person is not None
    await _allowed_assignment(turn.session, turn.person, assignment_id)
    last = (await latest_reports(turn.session, [assignment_id])).get(assignment_id)
    turn.draft.data.update(assignment_id=assignment_id, last_seen_report_id=last.id if last else None)
    return await DIALOGUE.move(turn, Step.AWAIT_VALUE)


async def begin(code: str | None, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                clock: Clock) -> Snapshot:
    """/report [code]: a fresh draft; the choice of targets, or straight to the value."""
    async def start(s: AsyncSession, person: Person | None) -> Snapshot:
        assert person is not None
        units = await cadre_unit_ids(s, person)
        if not units:
            raise DomainError("report.no_units")
        rows = (await s.exec(
            select(Assignment, Target, Unit)
            .join(Target, col(Target.id) == col(Assignment.target_id))
            .join(Unit, col(Unit.id) == col(Assignment.unit_id))
            .where(col(Assignment.unit_id).in_(units))
            .order_by(col(Target.deadline), col(Target.code)))).all()
        draft = await DIALOGUE.open(s, clock, conv, Step.CHOOSE_TARGET, {"attachments": []}, serial=update_id)
        turn = Turn(s, clock, conv, person, draft)
        if code is not None:
            match = next((a for a, t, _ in rows if t.code.lower() == code.strip().lower()), None)
            if match is None or match.id is None:
                raise DomainError("report.not_your_target")
            return await _choose(turn, match.id)  # refuses a closed target
        rows = [(a, t, u) for a, t, u in rows if not t.closed]
        if not rows:
            raise DomainError("report.nothing_to_report")
        choices = tuple(Choice(a.id or 0, t.code, t.title, u.name) for a, t, u in rows)
        return await DIALOGUE.move(turn, Step.CHOOSE_TARGET, choices=choices)
    return await DIALOGUE.begin(conv, update_id, uow, clock, start)


async def choose(assignment_id: int, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                 clock: Clock) -> Snapshot:
    async def work(turn: Turn[Snapshot]) -> Snapshot:
        return await _choose(turn, assignment_id)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(Step.CHOOSE_TARGET,), work=work)


async def give_value(text: str, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                     clock: Clock) -> Snapshot:
    """The cumulative value: parsed in the target's measure; a decrease or a value far above plan asks first."""
    async def work(turn: Turn[Snapshot]) -> Snapshot:
        snap = await DIALOGUE.snapshot(turn.session, clock, turn.draft)
        try:
            parsed = parse_value(text, snap.measure)
        except ValueParseError as exc:
            raise DomainError(exc.key, **exc.params) from None
        turn.draft.data.update(value=str(parsed.value), value_text=parsed.text, correction_reason=None)
        _, target, _ = await _rows(turn.session, turn.draft.data["assignment_id"])
        step = Step.AWAIT_NOTE
        if target.direction == "higher" and snap.last_value is not None and parsed.value < snap.last_value:
            step = Step.CONFIRM_DECREASE
        elif (target.direction == "higher" and snap.planned is not None and snap.planned > 0
              and parsed.value > snap.planned * FAR_ABOVE_PLAN):
            step = Step.CONFIRM_HIGH
        return await DIALOGUE.move(turn, step)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(Step.AWAIT_VALUE,), work=work)


async def decide(answer: str, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    """Buttons of the value checks: ``correct`` (a decrease, reason next), ``keep`` (far above plan is
    right), ``retype`` (enter the value again)."""
    async def work(turn: Turn[Snapshot]) -> Snapshot:
        step = {
            ("correct", Step.CONFIRM_DECREASE): Step.AWAIT_REASON,
            ("keep", Step.CONFIRM_HIGH): Step.AWAIT_NOTE,
        }.get((answer, Step(turn.draft.step)), Step.AWAIT_VALUE)
        if step == Step.AWAIT_VALUE:
            turn.draft.data.update(value=None, value_text=None)
        return await DIALOGUE.move(turn, step)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(Step.CONFIRM_DECREASE, Step.CONFIRM_HIGH),
                               work=work)


async def give_text(text: str | None, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                    clock: Clock) -> Snapshot:
    """A correction's reason, or the note (None = skip: keep what is there)."""
    async def work(turn: Turn[Snapshot]) -> Snapshot:
        clean = (text or "").strip()
        if turn.draft.step == Step.AWAIT_REASON:
            if len(clean) < 2:
                raise DomainError("report.reason_required")
            turn.draft.data["correction_reason"] = clean[:1000]
            return await DIALOGUE.move(turn, Step.AWAIT_NOTE)
        if text is not None:
            turn.draft.data["note"] = clean[:2000]
        return await DIALOGUE.move(turn, Step.AWAIT_FILES)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(Step.AWAIT_REASON, Step.AWAIT_NOTE), work=work)


async def may_add_file(size: int, limits: FileLimits, *, conv: ConvRef, uow: UnitOfWork, clock: Clock) -> None:
    """Before a file is fetched: the draft takes files now, and one more of ``size`` bytes fits the limits."""
    async def check(turn: Turn[Snapshot]) -> None:
        assert turn.person is not None
        await check_room(turn.session, clock, turn.person, size=size,
                         in_draft=len(turn.draft.data.get("attachments") or []), limits=limits)
    await DIALOGUE.peek(conv, uow, clock, at=(Step.AWAIT_FILES,), check=check)


async def add_file(f: IncomingFile, limits: FileLimits, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                   clock: Clock) -> Snapshot:
    """A supporting photo or document, already in storage; the same bytes are recorded once; within the limits
    of files in one draft and megabytes a day."""
    async def work(turn: Turn[Snapshot]) -> Snapshot:
        assert turn.person is not None
        files = list(turn.draft.data.get("attachments") or [])
        known = (await turn.session.exec(select(EvidenceFile.id).where(EvidenceFile.sha256 == f.sha256))).first()
        if known is None or all(item["evidence_id"] != known for item in files):
            await check_room(turn.session, clock, turn.person, size=len(f.data) if known is None else 0,
                             in_draft=len(files), limits=limits)
        evidence = await record_file(turn.session, clock, turn.person, sha256=f.sha256, size=len(f.data),
                                     mime_type=f.mime_type, storage_key=f.storage_key,
                                     telegram_file_id=f.telegram_file_id,
                                     telegram_file_unique_id=f.telegram_file_unique_id, kind=f.kind)
        if all(item["evidence_id"] != evidence.id for item in files):
            files.append({"evidence_id": evidence.id, "kind": f.kind, "file_name": f.file_name})
        turn.draft.data["attachments"] = files
        return await DIALOGUE.move(turn, Step.AWAIT_FILES)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(Step.AWAIT_FILES,), work=work)


async def to_summary(*, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    async def work(turn: Turn[Snapshot]) -> Snapshot:
        return await DIALOGUE.move(turn, Step.CONFIRM)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(Step.AWAIT_FILES,), work=work)


async def edit(*, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    """Back to the value; the note and files are kept."""
    async def work(turn: Turn[Snapshot]) -> Snapshot:
        return await DIALOGUE.move(turn, Step.AWAIT_VALUE)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(Step.CONFIRM,), work=work)


async def confirm(serial: int, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    """Write the report, in the transaction of the update that confirmed it. A second press (or a
    redelivered update) writes nothing and returns what the first did."""
    async def write(turn: Turn[Snapshot]) -> Snapshot:
        s, d, person = turn.session, turn.draft.data, turn.person
        assert person is not None and d.get("assignment_id") is not None and d.get("value") is not None
        assignment_id, value = d["assignment_id"], Decimal(d["value"])
        await _allowed_assignment(s, person, assignment_id)
        latest = (await latest_reports(s, [assignment_id])).get(assignment_id)
        report = ProgressReport(
            assignment_id=assignment_id, reporter_person_id=person.id, value=value, note=d.get("note") or "",
            confirmed_at=clock.now(), update_id=update_id,
            supersedes_id=latest.id if latest and d.get("correction_reason") else None,
            correction_reason=d.get("correction_reason"),
        )
        s.add(report)
        await s.flush()
        files = d.get("attachments") or []
        for item in files:
            s.add(ReportAttachment(report_id=report.id, evidence_id=item["evidence_id"], kind=item["kind"],
                                   file_name=item.get("file_name")))
        _, target, unit = await _rows(s, assignment_id)
        audit.record(s, clock, actor=f"person:{person.code}",
                     action="progress.correct" if d.get("correction_reason") else "progress.report",
                     entity="assignment", key=f"{target.code}/{unit.code}",
                     before={"value": latest.value, "report": latest.id} if latest else None,
                     after={"value": value, "report": report.id, "note": d.get("note") or "", "files": len(files),
                            "reason": d.get("correction_reason")})
        # Beyond a standing verified value: kept, shown as "claimed, not verified", and the office is asked.
        standing = (await read_effective(s, {assignment_id: target}, clock.now(), clock.tz))[assignment_id]
        notice: dict[str, Any] = {}
        if standing.unverified_claim and standing.claimed == value and standing.verified is not None:
            await review.request(s, clock, report, standing)
            review.record_request(s, clock, f"person:{person.code}", report, standing, target, unit)
            notice = {"notice": "report.review_pending",
                      "notice_params": {"verified": format_value(standing.verified.value, target.measure,
                                                                 person.language or "")}}
        meanwhile = latest is not None and latest.id != d.get("last_seen_report_id")
        other = latest if meanwhile and latest.reporter_person_id != person.id else None  # type: ignore[union-attr]
        other_name = (await s.get(Person, other.reporter_person_id)).name if other else None  # type: ignore[union-attr]
        d["report_id"] = report.id
        return await DIALOGUE.move(turn, Step.DONE, other_value=other.value if other else None,
                                   other_reporter=other_name, **notice)
    return await DIALOGUE.confirm(serial, conv, update_id, uow, clock, at=(Step.CONFIRM,), work=write,
                                  already="report.already_confirmed")
