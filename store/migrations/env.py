"""Alembic environment of the MemberLab database.

The target schema is `store.models.Base.metadata`. The application passes an open
connection (``config.attributes["connection"]``, already inside a locked write transaction,
see `store.db.migrate`); run by hand, the URL comes from the settings. SQLite needs
``render_as_batch`` so that later migrations can alter tables (copy-and-move).
"""

from __future__ import annotations

from alembic import context

from store.db import get_engine
from store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=False,
    )


def run_migrations_online() -> None:
    """Run the migrations on the given connection, or on one to the configured database."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from store.db import write_connection

    get_engine()  # creates the SQLite folder if needed
    with write_connection() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
