"""schemathesis against the live app: every API operation, fed inputs generated from the OpenAPI document
(valid ones and the edge cases around them), answers without a server error, with a documented status and a
body that matches the documented schema. Bounded: a few examples per operation, derandomised."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from admin_app.api.core import openapi_document
from provisioning.models import Role

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# The same document /api/v1/openapi.json serves (it is built from the registered routes, not from a request).
schema = schemathesis.openapi.from_dict(openapi_document())


@schema.parametrize()
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_its_document_says(case, app, system_admin) -> None:
    case.call_and_validate(app=app, headers=system_admin, checks=CHECKS)


@pytest.fixture
def system_admin(token_as, created_during_test) -> dict[str, str]:
    """A system admin's token: every operation is open to them, so the inputs decide the answer."""
    return {"Authorization": f"Bearer {token_as(Role.SYSTEM_ADMIN)}"}
