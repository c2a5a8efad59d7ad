"""Joins the tracking, custody and dispatch branches into one head.

The three were written side by side on top of the foundation; new migrations go after this
one, so `alembic heads` names a single revision again.

Revision ID: 0005
Revises: 0002, 0003, 0004
Create Date: 2026-11-28
"""

revision = "0005"
down_revision = ("0002", "0003", "0004")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
