"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import admin_app.models_registry  # noqa: F401  (every model)
from core.db import Base


def test_migrations_match_the_models(db) -> None:
    differences = compare_metadata(MigrationContext.configure(db.connection()), Base.metadata)
    assert differences == []
