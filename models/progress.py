"""Tables of progress reporting: reports and their files, target
adjustments (目标调整)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Column, Index, Text, text
from sqlmodel import Field, SQLModel

from models.columns import decimal_column, fk_column, timestamp_column


class ProgressReport(SQLModel, table=True):
    """A confirmed report: the cumulative value reached. Never overwritten; a correction supersedes."""

    __tablename__ = "progress_reports"
    __table_args__ = (
        # The score's main query (services/scoring/query.py, migration 0014): the counted report and its value
        # from the index alone, and the latest accepted evidence from a partial index of the accepted only.
        Index("ix_progress_assignment_value", "assignment_id", "id", "confirmed_at", "value"),
        Index("ix_progress_accepted", "assignment_id", "reviewed_at", "id",
              sqlite_where=text("review = 'accepted'"), postgresql_where=text("review = 'accepted'")),
    )
    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = fk_column("assignments.id", nullable=False, ondelete="RESTRICT", index=False)
    reporter_person_id: int = fk_column("people.id", nullable=False, ondelete="RESTRICT")
    value: Decimal = decimal_column(nullable=False)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    confirmed_at: datetime = timestamp_column(index=True)
    update_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    supersedes_id: int | None = fk_column("progress_reports.id")
    correction_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The office's review of a report beyond a standing verified value (services/progress/review.py):
    # None (no review needed), pending, accepted (the value counts as verified from reviewed_at), rejected.
    review: str | None = Field(default=None, max_length=16)
    reviewed_by_person_id: int | None = fk_column("people.id")
    reviewed_at: datetime | None = timestamp_column(nullable=True)


class ReportAttachment(SQLModel, table=True):
    __tablename__ = "report_attachments"
    id: int | None = Field(default=None, primary_key=True)
    report_id: int = fk_column("progress_reports.id", nullable=False, ondelete="CASCADE")
    evidence_id: int = fk_column("evidence_files.id", nullable=False, ondelete="RESTRICT")
    kind: str = Field(max_length=16)  # photo / document
    file_name: str | None = Field(default=None, max_length=200)


class TargetAdjustment(SQLModel, table=True):
    """A cadre's request to change a planned value or deadline (目标调整), decided by the office."""

    __tablename__ = "target_adjustments"
    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = fk_column("assignments.id", nullable=False, ondelete="CASCADE")
    requested_by_person_id: int = fk_column("people.id", nullable=False, ondelete="RESTRICT")
    field_name: str = Field(max_length=16)  # planned_value / deadline
    old_value: str = Field(max_length=64)
    new_value: str = Field(max_length=64)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16, index=True)  # pending / approved / rejected
    requested_at: datetime = timestamp_column()
    effective_from: date | None = None
    decided_by_person_id: int | None = fk_column("people.id")
    decided_at: datetime | None = timestamp_column(nullable=True)
    decision_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


