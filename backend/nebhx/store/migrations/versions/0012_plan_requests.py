"""plan_requests: a plan's questions to hosts' agents and their answers (one row per host)

Revision ID: 0012
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'plan_requests',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('host', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('answer', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('id', 'host'))
    op.create_index('ix_plan_requests_created_at', 'plan_requests', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_plan_requests_created_at', table_name='plan_requests')
    op.drop_table('plan_requests')
