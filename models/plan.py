"""Tables of the plan (目标体系): units, targets, their assignments to units, leading groups (领导小组)
and leaders' linked items (联系点). Timestamps are aware (UTC stored); values are exact decimals.

Later features add Alembic revisions; an applied revision is never edited."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.columns import decimal_column, fk_column, json_column, timestamp_column


class Unit(SQLModel, table=True):
    __tablename__ = "units"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=128)
    kind: str = Field(max_length=16)
    unit_class: str = Field(default="", max_length=32)
    parent_id: int | None = fk_column("units.id")
    latitude: float | None = None
    longitude: float | None = None
    radius_m: int | None = None
    active: bool = True
    created_at: datetime = timestamp_column()


class LeadingGroup(SQLModel, table=True):
    __tablename__ = "leading_groups"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=128)
    head_person_id: int | None = fk_column("people.id")


class LeaderLink(SQLModel, table=True):
    __tablename__ = "leader_links"
    __table_args__ = (UniqueConstraint("leader_person_id", "kind", "target_id", "unit_id", name="uq_link"),)
    id: int | None = Field(default=None, primary_key=True)
    leader_person_id: int = fk_column("people.id", nullable=False, ondelete="CASCADE")
    kind: str = Field(max_length=32)
    target_id: int | None = fk_column("targets.id", ondelete="CASCADE")
    unit_id: int | None = fk_column("units.id", ondelete="CASCADE")


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
    leading_group_id: int | None = fk_column("leading_groups.id")
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    closed: bool = False
    pillar: str = Field(default="", max_length=64)  # the pillar industry it serves (支柱产业), if any


class Assignment(SQLModel, table=True):
    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("target_id", "unit_id", name="uq_assignment"),)
    id: int | None = Field(default=None, primary_key=True)
    target_id: int = fk_column("targets.id", nullable=False, ondelete="CASCADE")
    unit_id: int = fk_column("units.id", nullable=False, ondelete="CASCADE")
    planned_value: Decimal = decimal_column(nullable=False)
    baseline_value: Decimal = decimal_column(nullable=False, default=Decimal(0))
    weight: Decimal = decimal_column(nullable=False, default=Decimal(1))
    deadline: date | None = None
    # [["2027-03-31", "25"], ...]: cumulative percent of the way from baseline to plan.
    milestones: list[list[str]] | None = json_column()
    site_latitude: float | None = None
    site_longitude: float | None = None
    site_radius_m: int | None = None


