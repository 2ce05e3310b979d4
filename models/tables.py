"""SQLModel tables. Timestamps are aware (UTC stored); values are exact decimals.

Later features add Alembic revisions; an applied revision is never edited.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import DecimalValue, UTCDateTime


def _ts(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _fk(target: str, nullable: bool = True, ondelete: str = "SET NULL", index: bool = True) -> Any:
    return Field(
        default=None,
        sa_column=Column(ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index),
    )


def _dec(nullable: bool = True, default: Decimal | None = None) -> Any:
    return Field(default=default, sa_column=Column(DecimalValue(), nullable=nullable))


def _json(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=nullable))


class Unit(SQLModel, table=True):
    __tablename__ = "units"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=128)
    kind: str = Field(max_length=16)
    unit_class: str = Field(default="", max_length=32)
    parent_id: int | None = _fk("units.id")
    latitude: float | None = None
    longitude: float | None = None
    radius_m: int | None = None
    active: bool = True
    created_at: datetime = _ts()


class Person(SQLModel, table=True):
    __tablename__ = "people"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=64)
    unit_id: int | None = _fk("units.id")
    phone: str | None = Field(default=None, max_length=32)
    telegram_user_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, unique=True, nullable=True, index=True)
    )
    language: str | None = Field(default=None, max_length=8)
    active: bool = True
    unreachable_at: datetime | None = _ts(nullable=True)
    joined_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()


class RoleMembership(SQLModel, table=True):
    __tablename__ = "role_memberships"
    __table_args__ = (UniqueConstraint("person_id", "role", "unit_id", name="uq_membership"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = _fk("people.id", nullable=False, ondelete="CASCADE")
    role: str = Field(max_length=16, index=True)
    unit_id: int | None = _fk("units.id")
    # Inspectors: unit codes or classes separated by ';' (empty = every unit).
    scope: str = Field(default="", max_length=1000)
    created_at: datetime = _ts()


class Invitation(SQLModel, table=True):
    __tablename__ = "invitations"
    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True, index=True)
    role: str = Field(max_length=16)
    unit_id: int | None = _fk("units.id")
    person_id: int | None = _fk("people.id")
    created_at: datetime = _ts()
    expires_at: datetime = _ts()
    used_at: datetime | None = _ts(nullable=True)
    used_by_person_id: int | None = _fk("people.id")
    used_by_telegram_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    revoked_at: datetime | None = _ts(nullable=True)


class LeadingGroup(SQLModel, table=True):
    __tablename__ = "leading_groups"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=128)
    head_person_id: int | None = _fk("people.id")


class LeaderLink(SQLModel, table=True):
    __tablename__ = "leader_links"
    __table_args__ = (UniqueConstraint("leader_person_id", "kind", "target_id", "unit_id", name="uq_link"),)
    id: int | None = Field(default=None, primary_key=True)
    leader_person_id: int = _fk("people.id", nullable=False, ondelete="CASCADE")
    kind: str = Field(max_length=32)
    target_id: int | None = _fk("targets.id", ondelete="CASCADE")
    unit_id: int | None = _fk("units.id", ondelete="CASCADE")


class Target(SQLModel, table=True):
    __tablename__ = "targets"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    year: int = Field(index=True)
    title: str = Field(max_length=256)
    category: str = Field(max_length=32)
    measure: str = Field(max_length=32)
    direction: str = Field(default="higher", max_length=8)
    mode: str = Field(max_length=16)
    deadline: date
    report_interval_days: int = 7
    leading_group_id: int | None = _fk("leading_groups.id")
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    closed: bool = False


class Assignment(SQLModel, table=True):
    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("target_id", "unit_id", name="uq_assignment"),)
    id: int | None = Field(default=None, primary_key=True)
    target_id: int = _fk("targets.id", nullable=False, ondelete="CASCADE")
    unit_id: int = _fk("units.id", nullable=False, ondelete="CASCADE")
    planned_value: Decimal = _dec(nullable=False)
    baseline_value: Decimal = _dec(nullable=False, default=Decimal(0))
    weight: Decimal = _dec(nullable=False, default=Decimal(1))
    deadline: date | None = None
    # [["2027-03-31", "25"], ...]: cumulative percent of the way from baseline to plan.
    milestones: list[list[str]] | None = _json()
    site_latitude: float | None = None
    site_longitude: float | None = None
    site_radius_m: int | None = None


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(index=True)
    actor: str = Field(max_length=64)  # "person:<code>", "cli", "system", "telegram:<user id>"
    action: str = Field(max_length=64, index=True)
    entity: str = Field(max_length=32)
    entity_key: str = Field(default="", max_length=128)
    before: dict[str, Any] | None = _json()
    after: dict[str, Any] | None = _json()


class HandledUpdate(SQLModel, table=True):
    """Telegram update ids already acted on: a set with times, not a maximum."""

    __tablename__ = "handled_updates"
    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    handled_at: datetime = _ts(index=True)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        UniqueConstraint("chat_id", "dedup_key", name="uq_outbox_dedup"),
    )
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = _ts()
    person_id: int | None = _fk("people.id")
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    kind: str = Field(max_length=32)
    dedup_key: str | None = Field(default=None, max_length=200)
    text: str = Field(sa_column=Column(Text, nullable=False))
    parse_mode: str | None = Field(default=None, max_length=16)
    reply_markup: dict[str, Any] | None = _json()
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = _ts()
    sent_at: datetime | None = _ts(nullable=True)
    telegram_message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    # Set by a delivery worker while it sends the row; an expired lease means the worker died.
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = _ts(nullable=True)


class KeyValue(SQLModel, table=True):
    """Small facts the bot learns and keeps, e.g. its username from getMe."""

    __tablename__ = "kv"
    key: str = Field(max_length=64, primary_key=True)
    value: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = _ts()
