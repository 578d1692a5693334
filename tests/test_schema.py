"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import admin_app.models_registry  # noqa: F401  (every model)
from core.db import Base, declared_for


def test_migrations_match_the_models(db) -> None:
    connection = db.connection()
    context = MigrationContext.configure(connection, opts={"include_object": declared_for(connection.dialect.name)})
    differences = compare_metadata(context, Base.metadata)
    assert differences == []
