"""hosts.approved_labels: the agent-declared labels an admin approved (NEBHX_LABEL_APPROVAL);
trigger_deliveries: the webhook deliveries already taken (a replay is refused)

Revision ID: 0008
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('hosts') as batch:
        batch.add_column(sa.Column('approved_labels', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
    op.create_table(
        'trigger_deliveries',
        sa.Column('trigger', sa.String(length=200), nullable=False),
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('trigger', 'key'))
    op.create_index('ix_trigger_deliveries_received_at', 'trigger_deliveries', ['received_at'])


def downgrade() -> None:
    op.drop_index('ix_trigger_deliveries_received_at', 'trigger_deliveries')
    op.drop_table('trigger_deliveries')
    with op.batch_alter_table('hosts') as batch:
        batch.drop_column('approved_labels')
