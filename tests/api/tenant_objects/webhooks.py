"""A webhook endpoint of the tenant, for the isolation matrix. Disabled, so other tests' events never queue
deliveries to it."""
from webhooks.models import WebhookEndpoint
from webhooks.signing import new_secret


def populate(tenant) -> dict[str, object]:
    endpoint = WebhookEndpoint.objects.create(
        organization=tenant.org, url=f"https://hooks.example.com/{tenant.org.slug}", secret=new_secret(),
        enabled=False, disabled_reason="isolation-matrix fixture")
    return {"webhook_id": endpoint}
