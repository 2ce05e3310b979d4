"""Tables of site inspection: visits, photos with what they showed, criticism notices (通报) and the group
chats notices go to. Rectification items (整改) are supervision items opened from an inspection
(models/items.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.columns import decimal_column, fk_column, json_column, timestamp_column


class Inspection(SQLModel, table=True):
    """A confirmed site visit (督查): where, when, what was seen, the value verified on site."""

    __tablename__ = "inspections"
    # The latest visit of an assignment without a sort (the score's main query, migration 0014).
    __table_args__ = (Index("ix_inspections_assignment_visit", "assignment_id", "visited_at", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    inspector_person_id: int = fk_column("people.id", nullable=False, ondelete="RESTRICT")
    unit_id: int = fk_column("units.id", nullable=False, ondelete="RESTRICT")
    assignment_id: int | None = fk_column("assignments.id", ondelete="RESTRICT")  # None: a general visit
    visited_at: datetime = timestamp_column(index=True)
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    findings: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    claimed_value: Decimal | None = decimal_column()  # the unit's latest claimed value at the visit
    verified_value: Decimal | None = decimal_column()
    rating: str = Field(max_length=16)  # good / acceptable / poor
    flags: list[dict[str, Any]] | None = json_column()  # [{"kind": "off_site", "params": {...}}, ...]
    update_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # A verified value from a visit whose evidence is flagged off site or re-used counts only once an admin
    # confirms it (services/inspection/holds.py): None (counts), pending, confirmed (counts), rejected.
    confirmation: str | None = Field(default=None, max_length=16)
    confirmed_by_person_id: int | None = fk_column("people.id")
    confirmed_at: datetime | None = timestamp_column(nullable=True)


class InspectionPhoto(SQLModel, table=True):
    __tablename__ = "inspection_photos"
    __table_args__ = (UniqueConstraint("inspection_id", "evidence_id", name="uq_inspection_photo"),)
    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = fk_column("inspections.id", nullable=False, ondelete="CASCADE")
    evidence_id: int = fk_column("evidence_files.id", nullable=False, ondelete="RESTRICT")
    compressed: bool = False  # sent as a Telegram photo: no EXIF survives
    flags: list[dict[str, Any]] | None = json_column()


class EvidenceFacts(SQLModel, table=True):
    """What a stored file showed when analysed (one row per evidence file)."""

    __tablename__ = "evidence_facts"
    evidence_id: int = Field(
        sa_column=Column(ForeignKey("evidence_files.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    )
    is_image: bool = False
    has_exif: bool = False
    taken_at: datetime | None = timestamp_column(nullable=True)
    latitude: float | None = None
    longitude: float | None = None
    width: int | None = None
    height: int | None = None
    phash: str | None = Field(default=None, max_length=32, index=True)


class Notice(SQLModel, table=True):
    """A criticism notice (通报批评): drafted from data, published only after an admin approves it."""

    __tablename__ = "notices"
    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=16, index=True)  # 2027-Q1, 2027-03, 2027-H1, 2027
    title: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    units: list[str] | None = json_column()  # codes of the units named
    status: str = Field(default="draft", max_length=16)  # draft / published / discarded
    drafted_by: str = Field(max_length=64)
    created_at: datetime = timestamp_column()
    decided_by_person_id: int | None = fk_column("people.id")
    decided_at: datetime | None = timestamp_column(nullable=True)


class BoundGroup(SQLModel, table=True):
    """A Telegram group an admin bound with /bindgroup: notices are published there."""

    __tablename__ = "bound_groups"
    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    title: str = Field(default="", max_length=200)
    bound_by_person_id: int | None = fk_column("people.id")
    bound_at: datetime = timestamp_column()
    active: bool = True
