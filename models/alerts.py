"""Tables of reminders and alerts: alerts with their escalation, who was told what, leaders' mutes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.columns import fk_column, json_column, timestamp_column


class Alert(SQLModel, table=True):
    """One condition worth telling people about, identified by its key (kind, assignment, level, period)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_open", "state", "level"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True, index=True)
    kind: str = Field(max_length=32)  # deadline / overdue / missing_report / pace / item / warning / calendar
    level: str = Field(max_length=16)  # info / yellow / red / overdue
    period: str = Field(max_length=32)
    assignment_id: int | None = fk_column("assignments.id", ondelete="CASCADE")
    created_at: datetime = timestamp_column()
    state: str = Field(default="open", max_length=16)  # open / acknowledged / resolved
    stage: int = 0  # 0 the unit's cadres, 1 linked leaders and the group head, 2 the target office
    stage_at: datetime = timestamp_column()
    acknowledged_by_person_id: int | None = fk_column("people.id")
    acknowledged_at: datetime | None = timestamp_column(nullable=True)
    details: dict[str, Any] | None = json_column()


class AlertDelivery(SQLModel, table=True):
    """Who was told of which alert (a key is never sent twice to one person), in which outbox row."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("alert_id", "person_id", name="uq_alert_person"),)
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = fk_column("alerts.id", nullable=False, ondelete="CASCADE")
    person_id: int = fk_column("people.id", nullable=False, ondelete="CASCADE")
    outbox_id: int | None = fk_column("outbox.id")
    stage: int = 0
    created_at: datetime = timestamp_column()


class Mute(SQLModel, table=True):
    """A leader's pause of a target's alerts until a date."""

    __tablename__ = "mutes"
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = fk_column("people.id", nullable=False, ondelete="CASCADE")
    target_id: int = fk_column("targets.id", nullable=False, ondelete="CASCADE")
    until: date
    created_at: datetime = timestamp_column()


class WarningNotice(SQLModel, table=True):
    """预警通知单: a red pace warning the unit must answer (落后原因, 下一步措施, a photo if it likes) by a day. It is
    told and climbs through its own alert (kind ``warning``, ``alert_id``); answering does not turn the light."""

    __tablename__ = "warning_notices"
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(sa_column=Column(ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, unique=True))
    pace_alert_id: int | None = fk_column("alerts.id")  # the red pace warning it came from
    assignment_id: int = fk_column("assignments.id", nullable=False, ondelete="CASCADE")
    unit_id: int = fk_column("units.id", nullable=False, ondelete="CASCADE")
    created_at: datetime = timestamp_column()
    answer_by: date  # the last working day to answer on
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # 落后原因
    next_steps: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # 下一步措施
    evidence_id: int | None = fk_column("evidence_files.id", ondelete="RESTRICT")
    answered_at: datetime | None = timestamp_column(nullable=True)
    answered_by_person_id: int | None = fk_column("people.id")
