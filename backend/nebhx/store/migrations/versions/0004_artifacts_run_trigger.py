"""artifacts (the build artifact store's table) and what triggered a run

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'artifacts',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('provenance', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_artifacts_name', 'artifacts', ['name'])
    op.create_index('ix_artifacts_sha256', 'artifacts', ['sha256'])
    op.create_index('ux_artifacts_name_sha256', 'artifacts', ['name', 'sha256'], unique=True)
    with op.batch_alter_table('runs') as batch:
        batch.add_column(sa.Column('trigger', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('runs') as batch:
        batch.drop_column('trigger')
    op.drop_index('ux_artifacts_name_sha256', table_name='artifacts')
    op.drop_index('ix_artifacts_sha256', table_name='artifacts')
    op.drop_index('ix_artifacts_name', table_name='artifacts')
    op.drop_table('artifacts')
