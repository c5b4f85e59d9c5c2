"""hosts.volumes: each host's volumes and snapshots, as its agent last reported them

Revision ID: 0010
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('hosts') as batch:
        # The server default fills the hosts already registered; their agents report soon.
        batch.add_column(sa.Column('volumes', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table('hosts') as batch:
        batch.drop_column('volumes')
