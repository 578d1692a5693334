"""Imports every model module so ``Base.metadata`` is complete (migrations, tests, create_all)."""

from meetings import models as meetings_models
from provisioning import models as provisioning_models
from provisioning import outbox, scheduling, trail

__all__ = ["meetings_models", "outbox", "provisioning_models", "scheduling", "trail"]
