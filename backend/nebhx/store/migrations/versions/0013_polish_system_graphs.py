"""graphs.system: graphs nebhx stores for its own runs (nebhx rollback), kept out of the
graph list, the palette and lookups by name

Revision ID: polish_system_graphs
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = 'polish_system_graphs'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('graphs') as batch:
        batch.add_column(sa.Column('system', sa.Boolean(), nullable=False, server_default=sa.false()))
    # The rollback graph was stored as a user graph before.
    op.execute(sa.text("UPDATE graphs SET system = :yes WHERE name = 'nebhx-rollback'")
               .bindparams(yes=True))


def downgrade() -> None:
    with op.batch_alter_table('graphs') as batch:
        batch.drop_column('system')
