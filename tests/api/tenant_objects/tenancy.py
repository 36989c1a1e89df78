"""Memberships and verified domains of a tenant for the isolation matrix."""
from tenancy.models import Membership
from tests.factories import verify_domain


def populate(tenant) -> dict[str, object]:
    return {"member_id": Membership.objects.get(organization=tenant.org, user=tenant.employee_user),
            "domain_id": verify_domain(tenant.org, f"{tenant.org.slug}-{tenant.employee.pk}.example")}
