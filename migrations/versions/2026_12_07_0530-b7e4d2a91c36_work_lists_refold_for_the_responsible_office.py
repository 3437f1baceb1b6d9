"""Work lists as the contract says: refold every episode

The fold now stores the care office responsible now as api.md defines it (the latest
care_assignment by the hospital or a party office, else the office named on the admission) in
``care_office_id``, and two new facts of the state JSON (``has_care_manager``,
``care_office_known``) that the work lists and the flags read. Every episode is marked dirty so
the worker refolds it: the fold's own answer is what stays.

Revision ID: b7e4d2a91c36
Revises: 5b8e2d4c7a13
Create Date: 2026-12-07 05:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b7e4d2a91c36"
down_revision: str | None = "5b8e2d4c7a13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFOLD_ALL = "UPDATE episodes SET dirty_since = coalesce(dirty_since, now())"


def upgrade() -> None:
    op.execute(REFOLD_ALL)


def downgrade() -> None:
    # The older code reads care_office_id its own way: let it refold every episode too.
    op.execute(REFOLD_ALL)
