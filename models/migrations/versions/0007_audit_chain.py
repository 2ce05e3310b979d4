"""the audit log as a hash chain, append-only on PostgreSQL

Every audit row gets ``prev_hash`` and ``row_hash`` = sha256(prev_hash ‖ canonical JSON of the row), the rows
already there chained in id order from 64 zeros (the definition is services/core/audit.py's, copied here as
it stood so that this revision never changes). ``prev_hash`` is unique: no two rows claim the same
predecessor. On PostgreSQL a trigger refuses UPDATE and DELETE of audit rows and TRUNCATE of the table.
Downgrade removes the trigger and the columns.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-14
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from alembic import op

import models.types

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

GENESIS = "0" * 64
BATCH = 2000
AUDIT = sa.table(
    "audit_log", sa.column("id", sa.Integer()), sa.column("at", models.types.UTCDateTime(timezone=True)),
    *(sa.column(c, sa.String()) for c in ("actor", "action", "entity", "entity_key", "prev_hash", "row_hash")),
    sa.column("before", sa.JSON()), sa.column("after", sa.JSON()),
)
REFUSE = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING HINT = 'audit rows are never changed or deleted (duban audit verify checks the chain)';
END
$$
"""


def _digest(prev: str, row: Any) -> str:
    at = row.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    doc = {"action": row.action, "actor": row.actor, "after": row.after, "at": at, "before": row.before,
           "entity": row.entity, "entity_key": row.entity_key}
    body = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(prev.encode("ascii") + body.encode("utf-8", "surrogatepass")).hexdigest()


def _chain_existing(conn: sa.Connection) -> None:
    prev, last = GENESIS, 0
    update = sa.update(AUDIT).where(AUDIT.c.id == sa.bindparam("row_id")).values(
        prev_hash=sa.bindparam("prev"), row_hash=sa.bindparam("hash"))
    while True:
        rows = conn.execute(sa.select(AUDIT).where(AUDIT.c.id > last).order_by(AUDIT.c.id).limit(BATCH)).all()
        if not rows:
            return
        params = []
        for row in rows:
            row_hash = _digest(prev, row)
            params.append({"row_id": row.id, "prev": prev, "hash": row_hash})
            prev, last = row_hash, row.id
        conn.execute(update, params)


def upgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('row_hash', sa.String(length=64), nullable=True))
    _chain_existing(op.get_bind())
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('row_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint('uq_audit_log_prev_hash', ['prev_hash'])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(REFUSE)
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_constraint('uq_audit_log_prev_hash', type_='unique')
        batch_op.drop_column('row_hash')
        batch_op.drop_column('prev_hash')
