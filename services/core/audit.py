"""The audit log: every change to plan, people, progress, evidence or scores is written here."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.core import AuditLog
from models.types import decimal_text
from services.core.clock import Clock


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def record(
    session: AsyncSession,
    clock: Clock,
    *,
    actor: str,
    action: str,
    entity: str,
    key: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit entry to the session (written in the caller's transaction)."""
    entry = AuditLog(
        at=clock.now(),
        actor=actor[:64],
        action=action,
        entity=entity,
        entity_key=str(key)[:128],
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
    )
    session.add(entry)
    return entry
