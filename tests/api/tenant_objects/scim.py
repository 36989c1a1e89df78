"""SCIM objects of a tenant for the isolation matrix."""
from scim.services import scim_token_create


def populate(tenant) -> dict[str, object]:
    token, _secret = scim_token_create(organization=tenant.org, created_by=tenant.admin, name="Entra ID")
    return {"scim_token_id": token}
