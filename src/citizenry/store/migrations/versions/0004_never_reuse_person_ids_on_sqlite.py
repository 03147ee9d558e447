"""Never reuse person ids on SQLite

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild_people(autoincrement: bool) -> None:
    # Only SQLite reuses the largest id after a delete; PostgreSQL sequences never do.
    if op.get_context().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "people", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass


def upgrade() -> None:
    _rebuild_people(True)


def downgrade() -> None:
    _rebuild_people(False)
