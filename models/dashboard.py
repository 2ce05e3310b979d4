"""The leaders' dashboard (services/dashboard/): one-time login links and browser sessions, both kept as
SHA-256 hashes of their random tokens (the tokens themselves are never stored)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.columns import fk_column, timestamp_column


class DashboardLogin(SQLModel, table=True):
    """A one-time login link: used once, within its expiry (10 minutes)."""

    __tablename__ = "dashboard_logins"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    person_id: int = fk_column("people.id", nullable=False, ondelete="CASCADE")
    created_at: datetime = timestamp_column()
    expires_at: datetime = timestamp_column()
    used_at: datetime | None = timestamp_column(nullable=True)


class DashboardSession(SQLModel, table=True):
    """A browser's session (the HttpOnly cookie), from a login link or Telegram's initData."""

    __tablename__ = "dashboard_sessions"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    person_id: int = fk_column("people.id", nullable=False, ondelete="CASCADE")
    via: str = Field(max_length=16)  # link / telegram
    created_at: datetime = timestamp_column()
    expires_at: datetime = timestamp_column()
