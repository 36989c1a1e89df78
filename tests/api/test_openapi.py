"""The OpenAPI schema at /api/schema/ describes every endpoint and validates without warnings."""
from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command

from config.urls import tenant_patterns
from tests.factories import client_for

pytestmark = pytest.mark.django_db


def test_schema_is_served_and_lists_every_tenant_endpoint(tmp_path):
    response = client_for(None).get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = set(schema["paths"])
    for pattern in tenant_patterns:
        route = "/api/v1/orgs/{org_slug}/" + str(pattern.pattern).replace("<int:", "{").replace(">", "}")
        assert route in paths, route


def test_schema_validates_with_no_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
