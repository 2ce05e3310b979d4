"""People, their roles (with the unit and, for inspectors, the scope) and invitations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.columns import fk_column, timestamp_column


class Person(SQLModel, table=True):
    __tablename__ = "people"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=64)
    unit_id: int | None = fk_column("units.id")
    phone: str | None = Field(default=None, max_length=32)
    telegram_user_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, unique=True, nullable=True, index=True)
    )
    language: str | None = Field(default=None, max_length=8)
    active: bool = True
    unreachable_at: datetime | None = timestamp_column(nullable=True)
    joined_at: datetime | None = timestamp_column(nullable=True)
    created_at: datetime = timestamp_column()


class RoleMembership(SQLModel, table=True):
    __tablename__ = "role_memberships"
    __table_args__ = (UniqueConstraint("person_id", "role", "unit_id", name="uq_membership"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = fk_column("people.id", nullable=False, ondelete="CASCADE")
    role: str = Field(max_length=16, index=True)
    unit_id: int | None = fk_column("units.id")
    # Inspectors: unit codes or classes separated by ';' (empty = every unit).
    scope: str = Field(default="", max_length=1000)
    created_at: datetime = timestamp_column()


class Invitation(SQLModel, table=True):
    __tablename__ = "invitations"
    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True, index=True)
    role: str = Field(max_length=16)
    unit_id: int | None = fk_column("units.id")
    person_id: int | None = fk_column("people.id")
    created_at: datetime = timestamp_column()
    expires_at: datetime = timestamp_column()
    used_at: datetime | None = timestamp_column(nullable=True)
    used_by_person_id: int | None = fk_column("people.id")
    used_by_telegram_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    revoked_at: datetime | None = timestamp_column(nullable=True)
    # Who minted it: an admin in chat (None: the command line).
    created_by_person_id: int | None = fk_column("people.id")
