"""Imports every model module so ``Base.metadata`` is complete (migrations, tests, create_all)."""

from audit import models as audit_models
from audit import report_store
from core import changelog, lease, outbox, tasks
from meetings import models as meetings_models
from provisioning import history_models, slips
from provisioning import models as provisioning_models

__all__ = [
    "audit_models",
    "changelog",
    "history_models",
    "lease",
    "meetings_models",
    "outbox",
    "provisioning_models",
    "report_store",
    "slips",
    "tasks",
]
