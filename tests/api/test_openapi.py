"""The OpenAPI schema at /api/schema/ describes every endpoint and validates without warnings."""
from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command

from config.urls import tenant_patterns
from tests.factories import client_for
from tests.urls import url_of

pytestmark = pytest.mark.django_db


def test_schema_is_served_and_lists_every_tenant_endpoint(tmp_path):
    response = client_for(None).get(url_of("schema"))
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = set(schema["paths"])
    for pattern in tenant_patterns:
        route = "/api/v1/orgs/{org_slug}/" + str(pattern.pattern).replace("<int:", "{").replace(">", "}")
        assert route in paths, route


def test_schema_validates_with_no_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))


def test_a_service_error_that_reaches_the_api_becomes_its_4xx_not_a_500():
    from config.api_errors import exception_handler
    from teams.errors import TeamsError

    response = exception_handler(TeamsError("not_failed", "Only a failed request can be retried.", 409), {})
    assert response.status_code == 409
    assert response.data == {"detail": "Only a failed request can be retried.", "code": "not_failed"}
