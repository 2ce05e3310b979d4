"""Tables of supervision items (督办件): the item (what is to be done, by when, opened by whom and from what:
a leader's instruction, an inspection — a rectification (整改) is such an item —, an alert or a criticism
notice), each unit's part of it with its lifecycle (交办 assigned → 签收 signed → 办理 notes → 办结 reported →
核查 decided → 销号 closed), the notes on a part (progress, completion reports, the verifier's decisions) and
the files attached to the item or to a note."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.columns import fk_column, timestamp_column


class SupervisionItem(SQLModel, table=True):
    """What is to be done by when, assigned to one or more units (its parts); closed when every part is."""

    __tablename__ = "supervision_items"
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16, index=True)  # instruction / inspection / alert / notice
    inspection_id: int | None = fk_column("inspections.id", ondelete="RESTRICT")
    alert_id: int | None = fk_column("alerts.id")
    notice_id: int | None = fk_column("notices.id")
    task: str = Field(sa_column=Column(Text, nullable=False))
    deadline: date
    flagged: bool = False  # 挂牌督办: reminded daily, the linked leaders copied
    opened_by_person_id: int = fk_column("people.id", nullable=False, ondelete="RESTRICT")
    created_at: datetime = timestamp_column()
    state: str = Field(default="open", max_length=16, index=True)  # open / closed
    closed_at: datetime | None = timestamp_column(nullable=True)


class ItemPart(SQLModel, table=True):
    """One unit's part of an item and where it stands."""

    __tablename__ = "supervision_parts"
    __table_args__ = (UniqueConstraint("item_id", "unit_id", name="uq_supervision_part"),)
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = fk_column("supervision_items.id", nullable=False, ondelete="CASCADE")
    unit_id: int = fk_column("units.id", nullable=False, ondelete="RESTRICT")
    state: str = Field(default="assigned", max_length=16, index=True)  # assigned/signed/reported/closed/rejected
    assigned_at: datetime = timestamp_column()
    sign_due_at: datetime = timestamp_column()  # 签收 is late after this
    signed_at: datetime | None = timestamp_column(nullable=True)
    signed_by_person_id: int | None = fk_column("people.id")
    reported_at: datetime | None = timestamp_column(nullable=True)  # the latest completion report
    reports: int = 0  # completion reports made; the latest is number ``reports``
    returns: int = 0  # times the verifier sent it back with issues
    decided_at: datetime | None = timestamp_column(nullable=True)
    decided_by_person_id: int | None = fk_column("people.id")
    decision_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    closed_at: datetime | None = timestamp_column(nullable=True)


class ItemNote(SQLModel, table=True):
    """A step of a part told in words: a progress note, a completion report, the verifier's decision."""

    __tablename__ = "supervision_notes"
    id: int | None = Field(default=None, primary_key=True)
    part_id: int = fk_column("supervision_parts.id", nullable=False, ondelete="CASCADE")
    kind: str = Field(max_length=16)  # progress / report / issues / rejected / approved
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    person_id: int = fk_column("people.id", nullable=False, ondelete="RESTRICT")
    created_at: datetime = timestamp_column()
    submission: int = 0  # reports and decisions: which completion report (1, 2, ...)


class ItemFile(SQLModel, table=True):
    """A photo or document attached to an item (the instruction's) or to one of its notes."""

    __tablename__ = "supervision_files"
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = fk_column("supervision_items.id", nullable=False, ondelete="CASCADE")
    note_id: int | None = fk_column("supervision_notes.id", ondelete="CASCADE")  # None: the item's own
    evidence_id: int = fk_column("evidence_files.id", nullable=False, ondelete="RESTRICT")
