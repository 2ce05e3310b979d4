"""verdicts (issue #15 §4-7): survey sessions and answers refused as the unit's own, accountability outcomes,
targets' pillar industry

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None

TS = models.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'survey_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('inspector_person_id', sa.Integer(), nullable=False),
        sa.Column('opens_at', TS, nullable=False),
        sa.Column('closes_at', TS, nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('update_id', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(['inspector_person_id'], ['people.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('update_id'),
    )
    with op.batch_alter_table('survey_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_sessions_token'), ['token'], unique=True)
        batch_op.create_index(batch_op.f('ix_survey_sessions_year'), ['year'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_sessions_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_sessions_inspector_person_id'), ['inspector_person_id'],
                              unique=False)
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('excluded', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default=''))
        batch_op.create_index(batch_op.f('ix_survey_responses_session_id'), ['session_id'], unique=False)
        batch_op.create_foreign_key('fk_survey_responses_session_id', 'survey_sessions', ['session_id'], ['id'],
                                    ondelete='SET NULL')
    op.create_table(
        'accountability_outcomes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('line_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('recorded_by_person_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', TS, nullable=False),
        sa.Column('update_id', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(['recorded_by_person_id'], ['people.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('update_id'),
        sa.UniqueConstraint('year', 'line_key', name='uq_accountability_outcome'),
    )
    with op.batch_alter_table('accountability_outcomes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accountability_outcomes_year'), ['year'], unique=False)
        batch_op.create_index(batch_op.f('ix_accountability_outcomes_recorded_by_person_id'),
                              ['recorded_by_person_id'], unique=False)
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pillar', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.drop_column('pillar')
    op.drop_table('accountability_outcomes')
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.drop_constraint('fk_survey_responses_session_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_survey_responses_session_id'))
        batch_op.drop_column('excluded')
        batch_op.drop_column('session_id')
    op.drop_table('survey_sessions')
