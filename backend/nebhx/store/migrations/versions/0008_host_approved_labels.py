"""hosts.approved_labels: the agent-declared labels an admin approved (NEBHX_LABEL_APPROVAL)

Revision ID: 0008
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('hosts') as batch:
        batch.add_column(sa.Column('approved_labels', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    with op.batch_alter_table('hosts') as batch:
        batch.drop_column('approved_labels')
