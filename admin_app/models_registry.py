"""Imports every model module so ``Base.metadata`` is complete (migrations, tests, create_all)."""

from audit import models as audit_models
from meetings import models as meetings_models
from provisioning import models as provisioning_models
from provisioning import outbox, scheduling, trail

__all__ = ["audit_models", "meetings_models", "outbox", "provisioning_models", "scheduling", "trail"]
