"""ip_pools, ip_allocations: address pools and the addresses handed out (net.pool, net.allocate)

Revision ID: network_ipam
Revises: polish_system_graphs
"""
from alembic import op
import sqlalchemy as sa

revision = 'network_ipam'
down_revision = 'daytwo_a_started_by_retention'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'ip_pools',
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('cidr', sa.String(length=64), nullable=False),
        sa.Column('reserved', sa.JSON(), nullable=False),
        sa.Column('description', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name'))
    op.create_table(
        'ip_allocations',
        sa.Column('pool', sa.String(length=100), nullable=False),
        sa.Column('offset', sa.BigInteger(), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('owner', sa.String(length=300), nullable=False),
        sa.Column('run_id', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['pool'], ['ip_pools.name'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('pool', 'offset'),
        sa.UniqueConstraint('pool', 'owner', name='uq_ip_allocations_pool_owner'))


def downgrade() -> None:
    op.drop_table('ip_allocations')
    op.drop_table('ip_pools')
