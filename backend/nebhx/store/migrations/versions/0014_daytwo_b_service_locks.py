"""service_locks: a run's hold on a service instance on a host (switch / restart)

Revision ID: daytwo_b_service_locks
Revises: polish_system_graphs
"""
from alembic import op
import sqlalchemy as sa

revision = 'daytwo_b_service_locks'
down_revision = 'network_ipam'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'service_locks',
        sa.Column('host', sa.String(length=200), nullable=False),
        sa.Column('service', sa.String(length=200), nullable=False),
        sa.Column('instance', sa.String(length=200), nullable=False),
        sa.Column('run_id', sa.String(length=64), nullable=False),
        sa.Column('node_id', sa.String(length=160), nullable=False),
        sa.Column('acquired_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('host', 'service', 'instance'))
    op.create_index('ix_service_locks_run_id', 'service_locks', ['run_id'])


def downgrade() -> None:
    op.drop_index('ix_service_locks_run_id', table_name='service_locks')
    op.drop_table('service_locks')
