"""The audit log: every change to plan, people, progress, evidence or scores is written here, as a hash chain.

Each row carries ``prev_hash`` (the ``row_hash`` of the row before it; 64 zeros for the first row) and
``row_hash = sha256(prev_hash ‖ canonical JSON of the row)``: the 64 ASCII hex digits of ``prev_hash``
followed by the UTF-8 bytes of

    json.dumps({"action", "actor", "after", "at", "before", "entity", "entity_key"},
               sort_keys=True, separators=(",", ":"), ensure_ascii=False)

where ``at`` is the row's time in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` and ``before``/``after`` are the JSON
values stored (``null`` when absent). The row's ``id`` is not part of it: the database assigns ids at INSERT,
after the hash is computed. The order of the chain is the order of ids (``duban audit verify`` walks it so,
services/core/audit_chain.py), so changing, deleting, inserting or reordering any row breaks the chain at that
row. Dropping the newest rows, or re-hashing every row after a change, leaves a chain that holds together:
the head hash sent to the admins each day exposes that. A row written by other means than ``record`` lacks
its hashes and is refused (NOT NULL); the session events below refuse adding, changing or deleting AuditLog
objects (they are registered on every Session when this module is imported, as everything that records does).

``record`` stays a plain function called inside the caller's transaction: it only keeps the entry aside
(``session.info``). The chain is linked when that transaction commits (a ``before_commit`` session event):
everything else of the transaction is flushed first, then on PostgreSQL a transaction-scoped advisory lock
(``pg_advisory_xact_lock``) is taken, the head (the row with the highest id) read, the new rows chained in the
order they were recorded and inserted; the commit releases the lock. So appends are serialized for the
length of one INSERT and the COMMIT only, and a transaction that appends after another sees its rows: ids,
assigned under the lock, follow the chain. On SQLite every write transaction holds the database's write lock
from its start (``BEGIN IMMEDIATE``, models/db.py), which serializes appends already. Two rows can never
claim the same predecessor: the database refuses a second ``prev_hash`` (a unique constraint). Entries
recorded inside a savepoint that rolls back are dropped with it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

from sqlalchemy import Row, event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlmodel import col, select

from models.core import AuditLog
from models.types import decimal_text
from services.core.clock import Clock

GENESIS = "0" * 64
# One key for every database: advisory locks are per database, so counties never wait for each other.
CHAIN_LOCK_KEY = int.from_bytes(hashlib.sha256(b"duban: the audit chain of this database").digest()[:8], "big",
                                signed=True)
_PENDING = "duban.audit.pending"  # session.info: [(transaction recorded in, entry)], in the order recorded
_LINKING = "duban.audit.linking"  # session.info: set while the chained rows are flushed


class AuditWrittenDirectly(RuntimeError):
    """An AuditLog row was added, changed or deleted through a session: only ``record`` appends rows."""


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


def canonical(entry: AuditLog | Row[Any]) -> bytes:
    """The bytes of a row that its hash covers (everything but ``id`` and the hashes; see the module doc)."""
    at = entry.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    doc = {"action": entry.action, "actor": entry.actor, "after": entry.after, "at": at, "before": entry.before,
           "entity": entry.entity, "entity_key": entry.entity_key}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


def digest(prev_hash: str, entry: AuditLog | Row[Any]) -> str:
    """``sha256(prev_hash ‖ canonical(entry))`` as 64 lowercase hex digits."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(entry)).hexdigest()


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
    """Add an audit entry to the caller's transaction: it is chained and written when that transaction
    commits (its ``id`` and hashes are set then), and dropped if it rolls back."""
    entry = AuditLog(
        at=clock.now(),
        actor=actor[:64],
        action=action,
        entity=entity,
        entity_key=str(key)[:128],
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
    )
    sync = session.sync_session
    current = sync.get_nested_transaction() or sync.get_transaction()
    sync.info.setdefault(_PENDING, []).append((current, entry))
    return entry


def _within(tx: SessionTransaction | None, ended: SessionTransaction) -> bool:
    """Whether ``tx`` is ``ended`` or began inside it (None: recorded before the session began, so the root's)."""
    if tx is None:
        return ended.parent is None
    while tx is not None:
        if tx is ended:
            return True
        tx = tx.parent
    return False


@event.listens_for(Session, "before_flush")
def _refuse_direct_rows(session: Session, _flush_context: Any, _instances: Any) -> None:
    """Audit rows are only ever appended, by ``record`` (the PostgreSQL trigger says the same to SQL)."""
    if session.info.get(_LINKING):
        return
    if any(isinstance(o, AuditLog) for o in session.new):
        raise AuditWrittenDirectly("audit rows are written with services.core.audit.record, which chains them")
    if any(isinstance(o, AuditLog) for o in session.deleted) or any(
            isinstance(o, AuditLog) and session.is_modified(o) for o in session.dirty):
        raise AuditWrittenDirectly("audit rows are never changed or deleted")


@event.listens_for(Session, "before_commit")
def _link(session: Session) -> None:
    """Chain and insert the entries recorded in this transaction (also at a savepoint's release: rows inserted
    inside it stay with it)."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    entries = [entry for _, entry in pending]
    session.flush()  # the rest of the transaction first: the lock below is then held only for the insert
    if session.connection().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    head = session.execute(
        select(AuditLog.id, AuditLog.row_hash).order_by(col(AuditLog.id).desc()).limit(1)).first()
    head_id, prev = (head[0], head[1]) if head is not None else (0, GENESIS)
    for entry in entries:
        entry.prev_hash = prev
        entry.row_hash = prev = digest(prev, entry)
    session.info[_LINKING] = True
    try:
        session.add_all(entries)
        session.flush()
    finally:
        session.info.pop(_LINKING, None)
    ids = [head_id, *(entry.id or 0 for entry in entries)]
    if any(b <= a for a, b in pairwise(ids)):  # the order verify reads back must be the order hashed
        raise RuntimeError(f"audit rows got ids out of chain order: {ids}")


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [(tx, e) for tx, e in pending if not _within(tx, previous_transaction)]


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
