"""Couriers may be on a break: `shift_state` is `off`, `on` or `break`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    ALTER TABLE couriers DROP CONSTRAINT couriers_shift_state_check;
    ALTER TABLE couriers ADD CONSTRAINT couriers_shift_state_check
        CHECK (shift_state IN ('off', 'on', 'break'));
    """)


def downgrade() -> None:
    op.execute("""
    UPDATE couriers SET shift_state = 'on' WHERE shift_state = 'break';
    ALTER TABLE couriers DROP CONSTRAINT couriers_shift_state_check;
    ALTER TABLE couriers ADD CONSTRAINT couriers_shift_state_check
        CHECK (shift_state IN ('off', 'on'));
    """)
