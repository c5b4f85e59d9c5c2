"""runs.started_by (who started a run: an approval gate refuses their own approval) and
graphs.retention (how many runs, and for how long, housekeeping keeps of a graph)

Revision ID: daytwo_a_started_by_retention
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = 'daytwo_a_started_by_retention'
down_revision = 'polish_system_graphs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('runs') as batch:
        batch.add_column(sa.Column('started_by', sa.String(length=200), nullable=True))
    with op.batch_alter_table('graphs') as batch:
        batch.add_column(sa.Column('retention', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('graphs') as batch:
        batch.drop_column('retention')
    with op.batch_alter_table('runs') as batch:
        batch.drop_column('started_by')
