"""Discovery endpoints (RFC 7643 §5-7), parsed with scim2-models' own models."""
from __future__ import annotations

import pytest
from scim2_models import ListResponse, ResourceType, Schema, ServiceProviderConfig

from .test_auth import assert_scim_error

pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def test_service_provider_config(acme):
    response = acme.client.get("ServiceProviderConfig")
    assert response["Content-Type"].startswith("application/scim+json")
    config = ServiceProviderConfig.model_validate(response.json())
    assert config.patch.supported and config.filter.supported and config.filter.max_results == 200
    assert not config.bulk.supported and not config.change_password.supported and not config.sort.supported
    assert config.etag.supported
    assert [s.type for s in config.authentication_schemes] == ["oauthbearertoken"]


def test_resource_types(acme):
    listed = ListResponse[ResourceType].model_validate(acme.client.get("ResourceTypes").json())
    by_id = {rt.id: rt for rt in listed.resources}
    assert set(by_id) == {"User", "Group"}
    assert by_id["User"].endpoint == "/Users" and by_id["User"].schema_ == USER
    assert [e.schema_ for e in by_id["User"].schema_extensions] == [ENTERPRISE]
    assert by_id["Group"].endpoint == "/Groups" and by_id["Group"].schema_ == GROUP
    assert acme.client.get("ResourceTypes/User").json()["id"] == "User"
    assert_scim_error(acme.client.get("ResourceTypes/Device"), 404)


def test_schemas_publish_exactly_the_attributes_we_store(acme):
    listed = ListResponse[Schema].model_validate(acme.client.get("Schemas").json())
    by_id = {s.id: s for s in listed.resources}
    assert {USER, ENTERPRISE, GROUP} <= set(by_id)
    assert {"ResourceType", "ServiceProviderConfig", "Schema"} <= {s.name for s in listed.resources}
    user = by_id[USER]
    assert [a.name for a in user.attributes] == ["userName", "name", "displayName", "title", "active", "emails",
                                                 "groups"]
    assert user["userName"].uniqueness.value == "server" and user["groups"].mutability.value == "readOnly"
    assert [a.name for a in by_id[ENTERPRISE].attributes] == ["employeeNumber", "department", "manager"]
    manager = by_id[ENTERPRISE]["manager"]
    assert [s.name for s in manager.sub_attributes] == ["value", "$ref", "displayName"]
    assert [a.name for a in by_id[GROUP].attributes] == ["displayName", "members"]
    assert acme.client.get(f"Schemas/{USER}").json()["id"] == USER
    assert_scim_error(acme.client.get("Schemas/urn:nope"), 404)


def test_discovery_is_read_only(acme):
    for path in ("ServiceProviderConfig", "Schemas", "ResourceTypes"):
        assert_scim_error(acme.client.post(path, {}), 405)
        assert_scim_error(acme.client.delete(path), 405)
