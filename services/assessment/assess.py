"""Scoring peer units (交叉考核) and inspected units (巡察考核): the scorer's list and the /assess dialogue.

The draw is in services/assessment/draw.py (``open_round``, re-exported here). A scorer's units are their
PeerScore rows of an open round; ``score`` None means still to score (H1 counts only rows with a score).

Decisions:
- A score is 0–100 inclusive with at most one decimal place (87.5); full-width digits, "85分" and Chinese
  numerals (八十五) are read by services.plan.values. A comment is optional (at most 500 characters).
- Scores may be changed while the round is open (each change audited with before and after); once the
  round is published (公示) or closed, nothing changes and the dialogue says so.
- Nobody scores their own unit: the draw never gives it, and every step refuses it (a person moved into a
  unit they were drawn to score loses that unit from their list).
- A scorer must still hold the role of the kind (assessor for peer, inspector for inspection) and be active.
- One dialogue per chat and user (``assess``, the skeleton of services/core/dialogue.py), its draft written
  with the update id in one transaction; Confirm claims its update id with the score, so a redelivered or second
  press writes nothing more.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.assessment import AssessmentRound, PeerScore
from models.db import UnitOfWork
from models.enums import Role
from models.inspection import Inspection
from models.people import Person, RoleMembership
from models.plan import Unit
from services.assessment.draw import INSPECTION, KINDS, PEER, OpenResult, open_round, own_unit_ids, start_of_year
from services.core import audit
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.conversations import ConvRef
from services.core.dialogue import DONE, Dialogue, Draft, Turn
from services.core.errors import DialogueEnded, DomainError
from services.plan.values import ValueParseError, parse_value
from services.progress.standings import end_of_day

__all__ = ["INSPECTION", "KINDS", "PEER", "OpenResult", "open_round"]

MAX_COMMENT = 500
MAX_VISITS = 8  # visits shown while scoring a unit (newest first)
_ROLE = {PEER: Role.ASSESSOR.value, INSPECTION: Role.INSPECTOR.value}


class Step(StrEnum):
    SCORE = "score"
    COMMENT = "comment"
    CONFIRM = "confirm"
    DONE = DONE


@dataclass(frozen=True)
class Task:
    """One unit a scorer is to score (or scored)."""
    id: int
    year: int
    kind: str
    unit_code: str
    unit_name: str
    unit_class: str
    score: Decimal | None
    comment: str


@dataclass(frozen=True)
class VisitLine:
    day: date
    rating: str
    findings: str


@dataclass(frozen=True)
class Tasks:
    year: int
    cutoff: date
    tasks: list[Task]  # pending first, then done; by kind, then unit code

    def counts(self, kind: str) -> tuple[int, int]:
        """(done, all) of a kind."""
        mine = [t for t in self.tasks if t.kind == kind]
        return sum(t.score is not None for t in mine), len(mine)


@dataclass(frozen=True)
class Snapshot:
    """What the scorer is shown at any step."""
    serial: int
    step: Step
    task: Task
    draft: dict[str, Any]  # score (text of a Decimal), comment
    visits: tuple[VisitLine, ...] = ()
    visit_total: int = 0
    pending: int = 0  # units still to score (after Confirm)
    changed: bool = False  # Confirm replaced an earlier score
    notice: str | None = None


def parse_score(text: str) -> Decimal:
    """0–100 with at most one decimal place; DomainError ``peer.bad_score`` otherwise."""
    typed = unicodedata.normalize("NFKC", text or "").strip()
    try:
        value = parse_value(typed, "分").value
    except ValueParseError:
        raise DomainError("peer.bad_score", text=typed[:40] or "—") from None
    if not Decimal(0) <= value <= Decimal(100) or value != value.quantize(Decimal("0.1")):
        raise DomainError("peer.bad_score", text=typed[:40])
    return value.normalize() if value != value.to_integral() else value.quantize(Decimal(1))


def score_text(value: Decimal | str | None) -> str:
    if value is None:
        return "—"
    number = Decimal(str(value))
    return f"{number.normalize():f}" if number != number.to_integral() else str(int(number))


# ---------------------------------------------------------------------------------- helpers
async def _roles(s: AsyncSession, person: Person) -> set[str]:
    return set((await s.exec(select(RoleMembership.role).where(RoleMembership.person_id == person.id))).all())


def _task(row: PeerScore, unit: Unit) -> Task:
    return Task(row.id or 0, row.year, row.kind, unit.code, unit.name, unit.unit_class, row.score, row.comment)


async def _rows(s: AsyncSession, person: Person, *where: Any) -> list[tuple[PeerScore, Unit]]:
    """The person's rows (with their units) they may still act on: roles held, never their own unit."""
    roles, own = await _roles(s, person), await own_unit_ids(s, person)
    rows = (await s.exec(select(PeerScore, Unit).join(Unit, col(Unit.id) == col(PeerScore.unit_id))
                         .where(PeerScore.scorer_person_id == person.id, *where))).all()
    return [(r, u) for r, u in rows if _ROLE.get(r.kind) in roles and r.unit_id not in own]


async def _open_round(s: AsyncSession, year: int) -> AssessmentRound:
    rnd = (await s.exec(select(AssessmentRound).where(AssessmentRound.year == year))).first()
    if rnd is None:
        raise DialogueEnded("peer.no_round")
    if rnd.status != "open":
        raise DialogueEnded("peer.round_not_open", year=year)
    return rnd


async def _mine(s: AsyncSession, person: Person, task_id: int, *, lock: bool = False) -> tuple[PeerScore, Unit]:
    """One of the person's rows in an open round; refusals as the scorer should read them."""
    query = select(PeerScore).where(PeerScore.id == task_id)
    row = (await s.exec(query.with_for_update() if lock else query)).first()
    if row is None or row.scorer_person_id != person.id:
        raise DialogueEnded("peer.not_yours")
    if row.unit_id in await own_unit_ids(s, person):
        raise DialogueEnded("peer.own_unit")
    if _ROLE.get(row.kind) not in await _roles(s, person):
        raise DialogueEnded(f"peer.no_role_{row.kind}")
    await _open_round(s, row.year)
    unit = await s.get(Unit, row.unit_id)
    assert unit is not None
    return row, unit


async def _visits(s: AsyncSession, row: PeerScore, clock: Clock) -> tuple[tuple[VisitLine, ...], int]:
    """The unit's visits of the year up to the cut-off (every inspector's), newest first."""
    rnd = (await s.exec(select(AssessmentRound).where(AssessmentRound.year == row.year))).first()
    cutoff = rnd.cutoff if rnd else date(row.year, 12, 31)
    visits = (await s.exec(select(Inspection).where(
        Inspection.unit_id == row.unit_id, col(Inspection.visited_at) >= start_of_year(row.year, clock),
        col(Inspection.visited_at) <= end_of_day(cutoff, clock.tz))
        .order_by(col(Inspection.visited_at).desc(), col(Inspection.id).desc()))).all()
    lines = tuple(VisitLine(v.visited_at.astimezone(clock.tz).date(), v.rating, " ".join(v.findings.split()))
                  for v in visits[:MAX_VISITS])
    return lines, len(visits)


async def _pending(s: AsyncSession, person: Person, year: int) -> int:
    return sum(r.score is None for r, _ in await _rows(s, person, PeerScore.year == year))


class AssessDialogue(Dialogue[Snapshot]):
    name = "assess"
    no_draft = "peer.no_draft"

    async def snapshot(self, s: AsyncSession, clock: Clock, draft: Draft, **extra: Any) -> Snapshot:
        row = await s.get(PeerScore, draft.data["task"])
        unit = await s.get(Unit, row.unit_id) if row else None
        person = await s.get(Person, row.scorer_person_id) if row else None
        if row is None or unit is None or person is None:
            raise DialogueEnded("peer.not_yours")
        visits, total = await _visits(s, row, clock) if row.kind == INSPECTION else ((), 0)
        return Snapshot(draft.serial, Step(draft.step), _task(row, unit), dict(draft.data), visits, total,
                        await _pending(s, person, row.year), **{k: v for k, v in extra.items() if v is not None})


DIALOGUE = AssessDialogue()
cancel = DIALOGUE.cancel
resume = DIALOGUE.resume


# ---------------------------------------------------------------------------------- the list
async def my_tasks(*, user_id: int, uow: UnitOfWork) -> Tasks:
    """/assess: the person's units in the latest open round they have units in."""
    async with uow:
        s = uow.session
        person = await active_person(s, user_id)
        rows = await _rows(s, person)
        if not rows:
            raise DomainError("peer.nothing")
        years = sorted({r.year for r, _ in rows}, reverse=True)
        rounds = {r.year: r for r in (await s.exec(
            select(AssessmentRound).where(col(AssessmentRound.year).in_(years)))).all()}
        open_years = [y for y in years if y in rounds and rounds[y].status == "open"]
        if not open_years:
            raise DomainError("peer.round_not_open", year=years[0])
        year = open_years[0]
        tasks = [_task(r, u) for r, u in rows if r.year == year]
        tasks.sort(key=lambda t: (t.score is not None, KINDS.index(t.kind), t.unit_code))
        return Tasks(year, rounds[year].cutoff, tasks)


# ---------------------------------------------------------------------------------- the dialogue
async def begin(task_id: int, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    """A unit picked from the list: ask for its score (a new dialogue replaces an unfinished one)."""
    async def start(s: AsyncSession, person: Person | None) -> Snapshot:
        assert person is not None
        row, _ = await _mine(s, person, task_id)
        draft = await DIALOGUE.open(s, clock, conv, Step.SCORE, {"task": row.id, "score": None, "comment": ""},
                                    serial=update_id)
        return await DIALOGUE.snapshot(s, clock, draft)
    return await DIALOGUE.begin(conv, update_id, uow, clock, start)


async def advance(at: Step, value: str | None, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                  clock: Clock) -> Snapshot:
    """One input: the score at SCORE, the comment at COMMENT (None: skipped). A refusal keeps the step."""
    score = parse_score(value or "") if at == Step.SCORE else None
    comment = " ".join((value or "").split()) if at == Step.COMMENT else ""
    if len(comment) > MAX_COMMENT:
        raise DomainError("peer.comment_long", max=MAX_COMMENT, length=len(comment))

    async def work(turn: Turn[Snapshot]) -> Snapshot:
        assert turn.person is not None
        await _mine(turn.session, turn.person, turn.draft.data["task"])
        if at == Step.SCORE:
            turn.draft.data["score"] = str(score)
            return await DIALOGUE.move(turn, Step.COMMENT)
        turn.draft.data["comment"] = comment
        return await DIALOGUE.move(turn, Step.CONFIRM)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(at,), work=work)


async def edit(*, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    """Edit on the summary: back to the score (the values typed so far are kept until replaced)."""
    async def work(turn: Turn[Snapshot]) -> Snapshot:
        assert turn.person is not None
        await _mine(turn.session, turn.person, turn.draft.data["task"])
        return await DIALOGUE.move(turn, Step.SCORE)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=None, work=work)


async def confirm(serial: int, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    """Write the score, in the press's transaction; a second press answers like the first."""
    async def write(turn: Turn[Snapshot]) -> Snapshot:
        s, d, person = turn.session, turn.draft.data, turn.person
        assert person is not None
        row, unit = await _mine(s, person, d["task"], lock=True)
        before = {"score": row.score, "comment": row.comment} if row.score is not None else None
        row.score, row.comment = Decimal(d["score"]), d["comment"]
        row.submitted_at, row.update_id = clock.now(), update_id
        s.add(row)
        await s.flush()
        audit.record(s, clock, actor=f"person:{person.code}",
                     action="peer_score.change" if before else "peer_score.submit", entity="peer_score",
                     key=f"{row.year}:{row.kind}:{person.code}:{unit.code}", before=before,
                     after={"score": row.score, "comment": row.comment})
        return await DIALOGUE.move(turn, Step.DONE, changed=before is not None)
    return await DIALOGUE.confirm(serial, conv, update_id, uow, clock, at=(Step.CONFIRM,), work=write,
                                  already="peer.already_saved")
