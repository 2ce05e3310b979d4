"""The working-day schedules the office loads (a year's holidays and 调休 working weekends)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.columns import timestamp_column


class CalendarYear(SQLModel, table=True):
    """A year's official schedule loaded by the office (wins over the chinese-calendar package)."""

    __tablename__ = "calendar_years"
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    holidays: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    workdays: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    loaded_at: datetime = timestamp_column()
    loaded_by: str = Field(default="", max_length=64)
