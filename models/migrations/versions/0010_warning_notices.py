"""warning notices (预警通知单): a red pace warning the unit answers with its reason and next steps

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.types

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

TS = models.types.UTCDateTime(timezone=True)
INDEXED = ("pace_alert_id", "assignment_id", "unit_id", "evidence_id", "answered_by_person_id")


def upgrade() -> None:
    op.create_table('warning_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('pace_alert_id', sa.Integer(), nullable=True),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('answer_by', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('next_steps', sa.Text(), nullable=True),
    sa.Column('evidence_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', TS, nullable=True),
    sa.Column('answered_by_person_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pace_alert_id'], ['alerts.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['evidence_id'], ['evidence_files.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['answered_by_person_id'], ['people.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('alert_id')
    )
    with op.batch_alter_table('warning_notices', schema=None) as batch_op:
        for column in INDEXED:
            batch_op.create_index(batch_op.f(f'ix_warning_notices_{column}'), [column], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('warning_notices', schema=None) as batch_op:
        for column in INDEXED:
            batch_op.drop_index(batch_op.f(f'ix_warning_notices_{column}'))
    op.drop_table('warning_notices')
