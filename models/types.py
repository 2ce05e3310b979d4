"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


def decimal_text(value: Decimal) -> str:
    """Canonical text of a decimal: no exponent, no trailing zeros (1.50 -> "1.5", 1E+2 -> "100")."""
    return format(value.normalize(), "f")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, hands back aware datetimes (SQLite would return naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class DecimalValue(TypeDecorator[Decimal]):
    """Exact decimals: NUMERIC on PostgreSQL, canonical text on SQLite (which has no decimal type)."""

    impl = Numeric(20, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(20, 4, asdecimal=True))

    def process_bind_param(self, value: Decimal | int | float | str | None, dialect: Dialect):
        if value is None:
            return None
        dec = value if isinstance(value, Decimal) else Decimal(str(value))
        if dialect.name == "sqlite":
            return decimal_text(dec)
        return dec

    def process_result_value(self, value, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value))
