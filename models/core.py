"""Tables the whole bot relies on: the audit log, handled update ids, the outbox, small facts (kv),
stored files, and the conversation states of our own PTB persistence."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.columns import fk_column, json_column, timestamp_column


class AuditLog(SQLModel, table=True):
    """Append-only and hash-chained: ``row_hash`` = sha256(``prev_hash`` ‖ the row's canonical JSON), each row's
    ``prev_hash`` the ``row_hash`` of the row before it (services/core/audit.py sets both at commit; on
    PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE). No two rows may claim the same predecessor."""

    __tablename__ = "audit_log"
    __table_args__ = (UniqueConstraint("prev_hash", name="uq_audit_log_prev_hash"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = timestamp_column(index=True)
    actor: str = Field(max_length=64)  # "person:<code>", "cli", "system", "telegram:<user id>"
    action: str = Field(max_length=64, index=True)
    entity: str = Field(max_length=32)
    entity_key: str = Field(default="", max_length=128)
    before: dict[str, Any] | None = json_column()
    after: dict[str, Any] | None = json_column()
    # Set when the transaction commits (None only before that); NOT NULL in the database.
    prev_hash: str | None = Field(default=None, sa_column=Column(String(64), nullable=False))
    row_hash: str | None = Field(default=None, sa_column=Column(String(64), nullable=False))


class HandledUpdate(SQLModel, table=True):
    """Telegram update ids already acted on: a set with times, not a maximum."""

    __tablename__ = "handled_updates"
    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    handled_at: datetime = timestamp_column(index=True)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        UniqueConstraint("chat_id", "dedup_key", name="uq_outbox_dedup"),
    )
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = timestamp_column()
    person_id: int | None = fk_column("people.id")
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    kind: str = Field(max_length=32)
    dedup_key: str | None = Field(default=None, max_length=200)
    text: str = Field(sa_column=Column(Text, nullable=False))
    parse_mode: str | None = Field(default=None, max_length=16)
    reply_markup: dict[str, Any] | None = json_column()
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = timestamp_column()
    sent_at: datetime | None = timestamp_column(nullable=True)
    telegram_message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    # Set by a delivery worker while it sends the row; an expired lease means the worker died.
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = timestamp_column(nullable=True)


class KeyValue(SQLModel, table=True):
    """Small facts the bot learns and keeps, e.g. its username from getMe."""

    __tablename__ = "kv"
    key: str = Field(max_length=64, primary_key=True)
    value: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = timestamp_column()


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
    uploaded_by_person_id: int | None = fk_column("people.id")
    created_at: datetime = timestamp_column()


class ConversationState(SQLModel, table=True):
    """PTB ConversationHandler states, as JSON (our BasePersistence; never pickle)."""

    __tablename__ = "conversation_states"
    __table_args__ = (UniqueConstraint("name", "conv_key", name="uq_conversation"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    conv_key: str = Field(max_length=200)
    state: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    updated_at: datetime = timestamp_column()
