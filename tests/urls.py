"""URLs by name, as the URLconf spells them (issue 16): a test names the endpoint it calls and reverses it, never
rebuilds the path by hand, so a moved route breaks nothing but the URLconf. Names are in platform/config/urls.py
(api:..., api:tenant:...) and each app's urls.py / tenant_urls.py (portal:..., sso:..., scim:..., ...)."""
from __future__ import annotations

from django.urls import reverse


def url_of(name: str, *args, **kwargs) -> str:
    """reverse(name) with the route's parameters in order (args), an Organization standing for its slug; or by
    name (kwargs), the organization then the only positional argument."""
    args = [getattr(arg, "slug", arg) for arg in args]
    if kwargs:
        if args:
            (kwargs["org_slug"],) = args
        return reverse(name, kwargs=kwargs)
    return reverse(name, args=args)


def tenant_url(name: str, org, /, *args, **kwargs) -> str:
    """/api/v1/orgs/<org_slug>/... of the tenant route `name` (api:tenant:<name>), e.g.
    tenant_url("employee-detail", org, employee.pk)."""
    return url_of(f"api:tenant:{name}", org, *args, **kwargs)
