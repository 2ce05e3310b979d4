"""The office's review of new evidence (issue #15 §1): a report beyond a standing verified value (an inspection's,
or earlier accepted evidence; services/progress/effective.py) is kept and shown as "claimed, not verified"; the
admins get an Accept / Reject request with the unit's files (through the outbox, buttons ``rv:ok|no|files:<id>``).
Accepting makes the report's value a verification from that moment (it counts); rejecting leaves the finding
standing. Every request and decision is audited; the reporter is told the decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import th
from models.core import EvidenceFile
from models.db import UnitOfWork
from models.enums import Role
from models.people import Person, RoleMembership
from models.plan import Target, Unit
from models.progress import ProgressReport, ReportAttachment
from services.core import audit, outbox, updates
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.errors import DomainError
from services.plan.rows import assignment_rows
from services.plan.values import format_value
from services.progress.effective import Effective, better, read_effective


@dataclass(frozen=True)
class Review:
    """A review request as the office reads it."""

    report_id: int
    status: str  # pending / accepted / rejected
    target_code: str
    title: str
    unit_name: str
    measure: str
    claimed: Decimal
    verified: Decimal
    verified_source: str  # inspection / evidence
    verified_at: datetime
    reporter: str
    files: int
    decided_by: str | None = None
    already: bool = False


async def admins(s: AsyncSession) -> list[Person]:
    return list((await s.exec(select(Person).join(RoleMembership, col(RoleMembership.person_id) == col(Person.id))
                              .where(RoleMembership.role == Role.ADMIN.value, col(Person.active).is_(True),
                                     col(Person.joined_at).is_not(None))
                              .order_by(col(Person.id)).distinct())).all())


async def is_admin(s: AsyncSession, person: Person) -> bool:
    return (await s.exec(select(RoleMembership.id).where(
        RoleMembership.person_id == person.id, RoleMembership.role == Role.ADMIN.value))).first() is not None


async def standing_before(s: AsyncSession, assignment_id: int, target: Target, clock: Clock) -> Effective:
    """The effective value as it stands now (before a report being written is counted)."""
    return (await read_effective(s, {assignment_id: target}, clock.now(), clock.tz))[assignment_id]


def needs_review(direction: str, value: Decimal, standing: Effective) -> bool:
    """Whether a new report goes beyond a standing verified value (then it waits for the office)."""
    return standing.verified is not None and better(direction, value, standing.verified.value)


async def request(s: AsyncSession, clock: Clock, report: ProgressReport, standing: Effective) -> None:
    """Mark the report pending and ask every admin (in the report's transaction)."""
    assert report.id is not None and standing.verified is not None
    report.review = "pending"
    s.add(report)
    await s.flush()  # its attachments, added before, are counted
    r = await _review(s, report, standing)
    for admin in await admins(s):
        lang = admin.language or ""
        buttons = [[{"text": th("review.btn_accept", lang), "callback_data": f"rv:ok:{r.report_id}"},
                    {"text": th("review.btn_reject", lang), "callback_data": f"rv:no:{r.report_id}"}]]
        if r.files:
            buttons.append([{"text": th("review.btn_files", lang, count=r.files),
                             "callback_data": f"rv:files:{r.report_id}"}])
        await outbox.enqueue_to_person(s, clock, admin, text=request_text(r, lang, clock), kind="review.request",
                                       dedup_key=f"rv:{r.report_id}", reply_markup={"inline_keyboard": buttons},
                                       parse_mode="HTML")


async def _review(s: AsyncSession, report: ProgressReport, standing: Effective | None = None,
                  clock: Clock | None = None) -> Review:
    rows = await assignment_rows(s, report.assignment_id)
    assert rows is not None
    _, target, unit = rows
    reporter = await s.get(Person, report.reporter_person_id)
    decider = await s.get(Person, report.reviewed_by_person_id) if report.reviewed_by_person_id else None
    files = len((await s.exec(select(ReportAttachment.id).where(ReportAttachment.report_id == report.id))).all())
    if standing is None:  # the verification the request was made against: as it stood just before the report
        before = report.confirmed_at - timedelta(microseconds=1)
        tz = clock.tz if clock is not None else ZoneInfo("UTC")
        standing = (await read_effective(s, {report.assignment_id: target}, before, tz))[report.assignment_id]
    verified = standing.verified
    value, source, at = ((verified.value, verified.source, verified.at) if verified is not None
                         else (report.value, "inspection", report.confirmed_at))
    assert report.id is not None
    return Review(report_id=report.id, status=report.review or "", target_code=target.code, title=target.title,
                  unit_name=unit.name, measure=target.measure, claimed=report.value, verified=value,
                  verified_source=source, verified_at=at, reporter=reporter.name if reporter else "?", files=files,
                  decided_by=decider.name if decider else None)


def request_text(r: Review, lang: str | None, clock: Clock) -> str:
    return th("review.request", lang, name=r.reporter, unit=r.unit_name, title=r.title, code=r.target_code,
              claimed=format_value(r.claimed, r.measure, lang or ""),
              verified=format_value(r.verified, r.measure, lang or ""),
              source=th(f"review.source_{r.verified_source}", lang),
              date=r.verified_at.astimezone(clock.tz).date().isoformat(), files=r.files)


async def decide(report_id: int, accept: bool, *, user_id: int, update_id: int | None, uow: UnitOfWork,
                 clock: Clock) -> Review:
    """An admin's Accept / Reject, exactly once: a request decided already (a second press, another admin)
    changes nothing and says who decided it."""
    async with uow:
        s = uow.session
        person = await active_person(s, user_id)
        if not await is_admin(s, person):
            raise DomainError("review.not_admin")
        report = (await s.exec(select(ProgressReport).where(ProgressReport.id == report_id)
                               .with_for_update())).first()
        if report is None or report.review is None:
            raise DomainError("review.unknown")
        if report.review != "pending":
            r = await _review(s, report, clock=clock)
            return Review(**{**r.__dict__, "already": True})
        await updates.claim(s, update_id, clock)
        rows = await assignment_rows(s, report.assignment_id)
        assert rows is not None
        _, target, unit = rows
        report.review = "accepted" if accept else "rejected"
        report.reviewed_by_person_id, report.reviewed_at = person.id, clock.now()
        s.add(report)
        audit.record(s, clock, actor=f"person:{person.code}",
                     action="progress.review_accept" if accept else "progress.review_reject", entity="report",
                     key=str(report.id), before={"review": "pending"},
                     after={"review": report.review, "value": report.value, "target": target.code, "unit": unit.code})
        await s.flush()
        r = await _review(s, report, clock=clock)
        reporter = await s.get(Person, report.reporter_person_id)
        if reporter is not None:
            lang = reporter.language or ""
            await outbox.enqueue_to_person(
                s, clock, reporter, kind="review.decided", parse_mode="HTML",
                text=th("review.told_accepted" if accept else "review.told_rejected", lang, name=person.name,
                        title=r.title, code=r.target_code, claimed=format_value(r.claimed, r.measure, lang),
                        verified=format_value(r.verified, r.measure, lang)))
        await uow.commit()
        return r


async def files(report_id: int, *, user_id: int, uow: UnitOfWork) -> list[tuple[str, str]]:
    """(storage key, MIME type) of the report's files, for an admin."""
    async with uow:
        s = uow.session
        if not await is_admin(s, await active_person(s, user_id)):
            raise DomainError("review.not_admin")
        rows = (await s.exec(select(EvidenceFile.storage_key, EvidenceFile.mime_type)
                             .join(ReportAttachment, col(ReportAttachment.evidence_id) == col(EvidenceFile.id))
                             .where(ReportAttachment.report_id == report_id).order_by(col(ReportAttachment.id)))).all()
        return [(key, mime or "application/octet-stream") for key, mime in rows]


def record_request(s: AsyncSession, clock: Clock, actor: str, report: ProgressReport, standing: Effective,
                         target: Target, unit: Unit) -> None:
    """Audit the request, with the verified value it was made against."""
    assert standing.verified is not None
    audit.record(s, clock, actor=actor, action="progress.review_request", entity="report", key=str(report.id),
                 before=None, after={"review": "pending", "value": report.value, "target": target.code,
                                     "unit": unit.code, "verified": standing.verified.value,
                                     "source": standing.verified.source,
                                     "verified_at": standing.verified.at.isoformat()})
