"""Checking the audit chain (services/core/audit.py says how it is built).

``verify`` walks every row in id order and names the first that does not match: its stored ``prev_hash`` is
not the previous row's hash (a row before it was deleted or inserted, or rows were reordered), or its
``row_hash`` is not the hash of its contents (the row was changed). Hashes received earlier (``known``) must
be in the chain.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select

from models.core import AuditLog
from models.db import UnitOfWork
from services.core.audit import GENESIS, digest

PAGE = 2000  # rows read per query while walking the chain
# Plain rows, not model instances: the walk reads every row once (about twice as fast).
_COLUMNS = tuple(getattr(AuditLog, c) for c in ("id", "at", "actor", "action", "entity", "entity_key", "before",
                                                 "after", "prev_hash", "row_hash"))


@dataclass(frozen=True)
class Break:
    """The first row that does not match: ``link`` (its predecessor is not the row before it) or ``content``."""

    id: int
    at: datetime
    action: str
    kind: str
    previous_id: int | None  # the last row that matched


@dataclass(frozen=True)
class Verdict:
    count: int  # rows that matched, in order (every row when the chain is intact)
    head: str  # the hash of the last row that matched
    broken: Break | None = None
    known: dict[str, int | None] = field(default_factory=dict)  # hash given -> id of the row carrying it

    @property
    def ok(self) -> bool:
        return self.broken is None and all(v is not None for v in self.known.values())


async def verify(*, uow: UnitOfWork, known: Iterable[str] = ()) -> Verdict:
    """Walk the chain in id order, a page at a time, up to the first row that does not match."""
    wanted: dict[str, int | None] = {h: None for h in known}
    prev, count, last_id = GENESIS, 0, 0
    async with uow:
        while True:
            page = (await uow.session.exec(select(*_COLUMNS).where(col(AuditLog.id) > last_id)
                                           .order_by(col(AuditLog.id)).limit(PAGE))).all()
            for row in page:
                assert row.id is not None
                kind = "link" if row.prev_hash != prev else "content" if row.row_hash != digest(prev, row) else None
                if kind is not None:
                    return Verdict(count, prev, Break(row.id, row.at, row.action, kind, last_id or None), wanted)
                assert row.row_hash is not None
                prev, count, last_id = row.row_hash, count + 1, row.id
                if prev in wanted:
                    wanted[prev] = row.id
            if len(page) < PAGE:
                return Verdict(count, prev, None, wanted)
