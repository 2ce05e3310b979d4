"""Tables of progress reporting: reports, their files, drafts of the /report dialogue, adjustments,
and the conversation states of our own PTB persistence."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.tables import _dec, _fk, _json, _ts


class EvidenceFile(SQLModel, table=True):
    """A stored file, content-addressed: the same bytes are stored once."""

    __tablename__ = "evidence_files"
    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, unique=True, index=True)
    size: int
    mime_type: str = Field(default="application/octet-stream", max_length=100)
    storage_key: str = Field(max_length=200)
    telegram_file_id: str = Field(max_length=200)
    telegram_file_unique_id: str | None = Field(default=None, max_length=100)
    uploaded_by_person_id: int | None = _fk("people.id")
    created_at: datetime = _ts()


class ProgressReport(SQLModel, table=True):
    """A confirmed report: the cumulative value reached. Never overwritten; a correction supersedes."""

    __tablename__ = "progress_reports"
    __table_args__ = (Index("ix_progress_assignment", "assignment_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = _fk("assignments.id", nullable=False, ondelete="RESTRICT", index=False)
    reporter_person_id: int = _fk("people.id", nullable=False, ondelete="RESTRICT")
    value: Decimal = _dec(nullable=False)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    confirmed_at: datetime = _ts(index=True)
    update_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    draft_id: int | None = Field(default=None, sa_column=Column(ForeignKey("report_drafts.id"), unique=True))
    supersedes_id: int | None = _fk("progress_reports.id")
    correction_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ReportAttachment(SQLModel, table=True):
    __tablename__ = "report_attachments"
    id: int | None = Field(default=None, primary_key=True)
    report_id: int = _fk("progress_reports.id", nullable=False, ondelete="CASCADE")
    evidence_id: int = _fk("evidence_files.id", nullable=False, ondelete="RESTRICT")
    kind: str = Field(max_length=16)  # photo / document
    file_name: str | None = Field(default=None, max_length=200)


class ReportDraft(SQLModel, table=True):
    """The /report dialogue in progress, one open draft per person; written with each update's id."""

    __tablename__ = "report_drafts"
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = _fk("people.id", nullable=False, ondelete="CASCADE")
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    status: str = Field(default="open", max_length=16, index=True)  # open / confirmed / cancelled
    step: str = Field(max_length=32)
    assignment_id: int | None = _fk("assignments.id", ondelete="CASCADE")
    value: Decimal | None = _dec()
    value_text: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    correction_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # [{"evidence_id": 1, "kind": "photo", "file_name": null}, ...]
    attachments: list[dict[str, Any]] | None = _json()
    last_seen_report_id: int | None = None
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    report_id: int | None = None


class TargetAdjustment(SQLModel, table=True):
    """A cadre's request to change a planned value or deadline (目标调整), decided by the office."""

    __tablename__ = "target_adjustments"
    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = _fk("assignments.id", nullable=False, ondelete="CASCADE")
    requested_by_person_id: int = _fk("people.id", nullable=False, ondelete="RESTRICT")
    field_name: str = Field(max_length=16)  # planned_value / deadline
    old_value: str = Field(max_length=64)
    new_value: str = Field(max_length=64)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16, index=True)  # pending / approved / rejected
    requested_at: datetime = _ts()
    effective_from: date | None = None
    decided_by_person_id: int | None = _fk("people.id")
    decided_at: datetime | None = _ts(nullable=True)
    decision_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ConversationState(SQLModel, table=True):
    """PTB ConversationHandler states, as JSON (our BasePersistence; never pickle)."""

    __tablename__ = "conversation_states"
    __table_args__ = (UniqueConstraint("name", "conv_key", name="uq_conversation"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    conv_key: str = Field(max_length=200)
    state: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    updated_at: datetime = _ts()
