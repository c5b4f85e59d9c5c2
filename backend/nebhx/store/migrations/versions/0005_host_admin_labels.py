"""hosts.admin_labels: labels an admin sets, kept apart from the ones its agent declares

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('hosts') as batch:
        # The server default fills the hosts already registered.
        batch.add_column(sa.Column('admin_labels', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    with op.batch_alter_table('hosts') as batch:
        batch.drop_column('admin_labels')
