"""Column helpers every table module uses: aware UTC timestamps, foreign keys, exact decimals, JSON."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey
from sqlmodel import Field

from models.types import DecimalValue, UTCDateTime


def timestamp_column(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def fk_column(target: str, nullable: bool = True, ondelete: str = "SET NULL", index: bool = True) -> Any:
    return Field(
        default=None,
        sa_column=Column(ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index),
    )


def decimal_column(nullable: bool = True, default: Decimal | None = None) -> Any:
    return Field(default=default, sa_column=Column(DecimalValue(), nullable=nullable))


def json_column(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=nullable))
