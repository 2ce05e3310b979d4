"""Tables of the year-end assessment (考核考评): the round and its rules, peer and inspection scores,
the public satisfaction survey, bonus/deduction/veto items, appeals during public notice (公示), and
the frozen results."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.columns import decimal_column, fk_column, json_column, timestamp_column


class AssessmentRound(SQLModel, table=True):
    """One county year's assessment. status: open (scoring under way) → published (公示, appeals
    allowed until appeal_until) → closed (frozen: results never change again unless reopened)."""

    __tablename__ = "assessment_rounds"
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(unique=True, index=True)
    status: str = Field(default="open", max_length=16)
    rules_toml: str = Field(sa_column=Column(Text, nullable=False))  # the rules text the round uses
    rules_hash: str = Field(max_length=64)  # sha256 of rules_toml
    cutoff: date  # data cut-off: reports and visits on or before this day count
    opened_at: datetime = timestamp_column()
    published_at: datetime | None = timestamp_column(nullable=True)
    appeal_until: datetime | None = timestamp_column(nullable=True)
    closed_at: datetime | None = timestamp_column(nullable=True)
    reopened_at: datetime | None = timestamp_column(nullable=True)


class PeerScore(SQLModel, table=True):
    """One scorer's score of one unit: kind "peer" (交叉考核, assessors of the same class) or
    "inspection" (巡察考核, inspection-group members). Drawn at ``assess open``; score stays None
    until the scorer confirms."""

    __tablename__ = "peer_scores"
    __table_args__ = (UniqueConstraint("year", "kind", "scorer_person_id", "unit_id", name="uq_peer_score"),)
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    kind: str = Field(max_length=16)  # peer / inspection
    scorer_person_id: int = fk_column("people.id", nullable=False, ondelete="CASCADE")
    unit_id: int = fk_column("units.id", nullable=False, ondelete="CASCADE")
    score: Decimal | None = decimal_column()
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    drawn_at: datetime = timestamp_column()
    submitted_at: datetime | None = timestamp_column(nullable=True)
    update_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class SurveyLink(SQLModel, table=True):
    """The public survey deep link of one unit for one year (``/start s_<token>``)."""

    __tablename__ = "survey_links"
    __table_args__ = (UniqueConstraint("year", "unit_id", name="uq_survey_link"),)
    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=64, unique=True, index=True)
    year: int = Field(index=True)
    unit_id: int = fk_column("units.id", nullable=False, ondelete="CASCADE")
    created_at: datetime = timestamp_column()


class SurveyResponse(SQLModel, table=True):
    """One answer (满意 / 基本满意 / 不满意) per Telegram account per unit per year. The account is kept
    only as a keyed hash (respondent), enough to refuse a second answer."""

    __tablename__ = "survey_responses"
    __table_args__ = (UniqueConstraint("year", "unit_id", "respondent", name="uq_survey_response"),
                      # the score's counts per unit and answer, from the index alone (migration 0014)
                      Index("ix_survey_counts", "year", "unit_id", "answer", "excluded"))
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    unit_id: int = fk_column("units.id", nullable=False, ondelete="CASCADE")
    respondent: str = Field(max_length=64)
    answer: str = Field(max_length=16)  # satisfied / basic / unsatisfied
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    answered_at: datetime = timestamp_column()
    update_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # Issue #15: the inspection group's session it came through (None: the unit's own link), and why it
    # does not count ("own_unit": the account is registered in the surveyed unit; no answer is kept).
    session_id: int | None = fk_column("survey_sessions.id", ondelete="SET NULL")
    excluded: str = Field(default="", max_length=16)


class SurveySession(SQLModel, table=True):
    """A survey session an inspector opens for a unit during a visit (到农村、社区听取群众意见): its own
    link, answerable only between ``opens_at`` and ``closes_at``; answers are counted per session."""

    __tablename__ = "survey_sessions"
    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=64, unique=True, index=True)
    year: int = Field(index=True)
    unit_id: int = fk_column("units.id", nullable=False, ondelete="CASCADE")
    inspector_person_id: int = fk_column("people.id", nullable=False, ondelete="CASCADE")
    opens_at: datetime = timestamp_column()
    closes_at: datetime = timestamp_column()
    created_at: datetime = timestamp_column()
    update_id: int | None = Field(default=None, sa_column=Column(BigInteger, unique=True, nullable=True))


class AccountabilityOutcome(SQLModel, table=True):
    """What the office recorded for one accountability line (问责) of a year: scheduled or done, with a
    note. ``line_key`` names the line stably (kind and codes, services/assessment/accountability.py)."""

    __tablename__ = "accountability_outcomes"
    __table_args__ = (UniqueConstraint("year", "line_key", name="uq_accountability_outcome"),)
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    line_key: str = Field(max_length=200)
    status: str = Field(max_length=16)  # scheduled / done
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    recorded_by_person_id: int | None = fk_column("people.id")
    recorded_at: datetime = timestamp_column()
    update_id: int | None = Field(default=None, sa_column=Column(BigInteger, unique=True, nullable=True))


class AssessmentItem(SQLModel, table=True):
    """A bonus (加分), deduction (扣分), one-vote veto (一票否决) or appeal correction recorded by the
    office with reason and evidence. Revoked items are kept (revoked_at set), never deleted."""

    __tablename__ = "assessment_items"
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    unit_id: int = fk_column("units.id", nullable=False, ondelete="CASCADE")
    kind: str = Field(max_length=16)  # bonus / deduction / veto / correction
    points: Decimal | None = decimal_column()  # bonus/deduction/correction; None for a veto
    reason: str = Field(sa_column=Column(Text, nullable=False))
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    appeal_id: int | None = fk_column("appeals.id")
    created_by: str = Field(max_length=64)
    created_at: datetime = timestamp_column()
    revoked_at: datetime | None = timestamp_column(nullable=True)
    revoked_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Appeal(SQLModel, table=True):
    """An objection a cadre raises during public notice; the office accepts (with a correction) or
    rejects, with a reason either way."""

    __tablename__ = "appeals"
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    unit_id: int = fk_column("units.id", nullable=False, ondelete="CASCADE")
    person_id: int = fk_column("people.id", nullable=False, ondelete="CASCADE")
    reason: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending / accepted / rejected
    decision_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = timestamp_column(nullable=True)
    created_at: datetime = timestamp_column()
    update_id: int | None = Field(default=None, sa_column=Column(BigInteger, unique=True, nullable=True))


class AssessmentResult(SQLModel, table=True):
    """A unit's computed result as published or as frozen at close. ``data`` holds the whole breakdown
    (assignments with ratio and points, components, items, survey, grade, flags) so that a closed
    round is shown exactly as frozen, whatever is reported later."""

    __tablename__ = "assessment_results"
    __table_args__ = (UniqueConstraint("year", "unit_id", name="uq_assessment_result"),)
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    unit_id: int = fk_column("units.id", nullable=False, ondelete="CASCADE")
    unit_class: str = Field(default="", max_length=32)
    total: Decimal = decimal_column(nullable=False)
    rank: int
    grade: str = Field(max_length=16)
    data: dict[str, Any] | None = json_column()
    computed_at: datetime = timestamp_column()
