"""ranking indexes: the score's main query reads the counted report, the latest inspection and the latest
accepted evidence of each assignment from indexes (services/scoring/query.py)

* ix_progress_assignment_value (assignment_id, id, confirmed_at, value) replaces ix_progress_assignment
  (assignment_id, id), its prefix: the counted report (the highest id confirmed by a moment) and its value
  come from the index alone, no table row visited;
* ix_inspections_assignment_visit (assignment_id, visited_at, id): the latest visit without a sort;
* ix_progress_accepted (assignment_id, reviewed_at, id) WHERE review = 'accepted' (partial, tiny): the latest
  accepted evidence without reading every report of the assignment;
* ix_survey_counts (year, unit_id, answer, excluded): the survey's counts per unit and answer from the index.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

ACCEPTED = "review = 'accepted'"


def upgrade() -> None:
    op.create_index('ix_progress_assignment_value', 'progress_reports',
                    ['assignment_id', 'id', 'confirmed_at', 'value'], unique=False)
    op.drop_index('ix_progress_assignment', table_name='progress_reports')
    op.create_index('ix_progress_accepted', 'progress_reports', ['assignment_id', 'reviewed_at', 'id'], unique=False,
                    sqlite_where=sa.text(ACCEPTED), postgresql_where=sa.text(ACCEPTED))
    op.create_index('ix_inspections_assignment_visit', 'inspections', ['assignment_id', 'visited_at', 'id'],
                    unique=False)
    op.create_index('ix_survey_counts', 'survey_responses', ['year', 'unit_id', 'answer', 'excluded'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_survey_counts', table_name='survey_responses')
    op.drop_index('ix_inspections_assignment_visit', table_name='inspections')
    op.drop_index('ix_progress_accepted', table_name='progress_reports')
    op.create_index('ix_progress_assignment', 'progress_reports', ['assignment_id', 'id'], unique=False)
    op.drop_index('ix_progress_assignment_value', table_name='progress_reports')
