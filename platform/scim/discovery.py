"""What this SCIM server publishes about itself (RFC 7643 §5-7): its configuration, resource types and schemas.

The schemas list only the attributes we store, so a directory (and scim2-tester) sees exactly what round-trips.
The attribute definitions come from scim2-models' RFC schemas, trimmed to what we support.
"""
from __future__ import annotations

import copy
from functools import lru_cache

from django.conf import settings

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"

# Attribute -> the sub-attributes we keep (None: a simple attribute).
USER_ATTRIBUTES = {"userName": None, "name": ("formatted", "familyName", "givenName"), "displayName": None,
                   "title": None, "active": None, "emails": ("value", "type", "primary"),
                   "groups": ("value", "$ref", "display")}
ENTERPRISE_ATTRIBUTES = {"employeeNumber": None, "department": None, "manager": ("value", "$ref", "displayName")}
GROUP_ATTRIBUTES = {"displayName": None, "members": ("value", "$ref", "type")}


def _trim(schema: dict, keep: dict, description: str) -> dict:
    attributes = []
    for attribute in schema["attributes"]:
        if attribute["name"] not in keep:
            continue
        attribute = copy.deepcopy(attribute)
        subs = keep[attribute["name"]]
        if subs is not None:
            attribute["subAttributes"] = [s for s in attribute["subAttributes"] if s["name"] in subs]
        attributes.append(attribute)
    return {**schema, "description": description, "attributes": attributes}


@lru_cache(maxsize=1)
def _schemas() -> tuple[dict, ...]:
    # lazy: scim2_models (pydantic) takes ~0.4 s to import; only the discovery schemas, built once, need it.
    from scim2_models import EnterpriseUser, Group, ResourceType, Schema, ServiceProviderConfig, User

    user = _trim(User.to_schema().model_dump(mode="json", exclude_none=True), USER_ATTRIBUTES,
                 "An employee. userName and the primary (else work) email are their work email address.")
    for attribute in user["attributes"]:
        if attribute["name"] == "emails":
            # Every employee gets an invite by email: a user needs an email (an email-shaped userName also does).
            attribute["required"] = True
            next(s for s in attribute["subAttributes"] if s["name"] == "value")["required"] = True
        if attribute["name"] == "active":
            # Whether someone may sign in is always stated; a request that leaves it out keeps the current value
            # (a new user is active).
            attribute["required"] = True
    enterprise = _trim(EnterpriseUser.to_schema().model_dump(mode="json", exclude_none=True), ENTERPRISE_ATTRIBUTES,
                       "Enterprise User: employee number, department and manager (value: the manager's id here).")
    group = _trim(Group.to_schema().model_dump(mode="json", exclude_none=True), GROUP_ATTRIBUTES,
                  "A team. A user is in at most one team: adding them to a group moves them out of their last one.")
    others = [model.to_schema().model_dump(mode="json", exclude_none=True)
              for model in (Schema, ResourceType, ServiceProviderConfig)]
    return (user, enterprise, group, *others)


def schemas(base_url: str) -> list[dict]:
    return [{**schema, "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{schema['id']}"}}
            for schema in _schemas()]


def schema(base_url: str, schema_id: str) -> dict | None:
    return next((s for s in schemas(base_url) if s["id"] == schema_id), None)


def resource_types(base_url: str) -> list[dict]:
    user = {"schemas": [RESOURCE_TYPE_SCHEMA], "id": "User", "name": "User", "endpoint": "/Users",
            "description": "Employees", "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": False}]}
    group = {"schemas": [RESOURCE_TYPE_SCHEMA], "id": "Group", "name": "Group", "endpoint": "/Groups",
             "description": "Teams", "schema": GROUP_SCHEMA}
    return [{**rt, "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/{rt['id']}"}}
            for rt in (user, group)]


def service_provider_config(base_url: str) -> dict:
    return {
        "schemas": [SPC_SCHEMA],
        "documentationUri": f"{settings.PUBLIC_BASE_URL}/api/docs/",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": settings.SCIM_MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": True},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "Bearer token", "primary": True,
            "description": "A SCIM token created by an admin of the organization (Settings > SCIM), sent as "
                           "'Authorization: Bearer <token>'. The token identifies the organization.",
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base_url}/ServiceProviderConfig"},
    }
