"""Every GET page of both portals, found in the portal URLconf (a new page can't be missed), renders with a bounded
number of queries that doesn't grow with the organization's rows: measured with one set of rows, then again after
adding several more people, selfies, requests, headshots, rollouts, keys, webhooks, receipts and audit events."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone

from accounts.services import invite_create
from audit.services import record
from portal import admin_brand_kits_views, urls
from rollouts.models import Rollout, RolloutRequest
from teams.models import GenerationRequest, Headshot, RequestStatus, Selfie, Team
from tenancy.models import Role
from tests.api.conftest import _populate_hooks, png_bytes, populate
from tests.factories import grant_consent, make_brand_kit, make_employee, make_user
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookMessage

pytestmark = pytest.mark.django_db

# The most queries any portal page may make (session, user, membership and the page's own reads).
MAX_QUERIES = 40
# Added rows of each kind before the second measure.
MORE = 4
# tests/api/tenant_objects: each app's objects of a tenant (keys, export jobs, tokens, endpoints, receipts, ...).
MATRIX_HOOKS = list(_populate_hooks())


def walk(patterns, parameters=()):
    """(route, the names of its URL parameters, its own and those of the includes above it)."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, (*parameters, *pattern.pattern.converters))
        elif isinstance(pattern, URLPattern):
            yield pattern, (*parameters, *pattern.pattern.converters)


def get_pages() -> list[tuple[URLPattern, tuple[str, ...]]]:
    """The portal's routes whose view answers GET (a page, a confirmation, an image or a download)."""
    return [(p, parameters) for p, parameters in walk(urls.urlpatterns)
            if hasattr(view := getattr(p.callback, "view_class", None), "get") and "get" in view.http_method_names]


GET_PAGES = get_pages()
# Routes of the employee portal (the rest are the admin portal's, which an admin opens).
EMPLOYEE_ROUTES = {"orgs", "home", "consent", "selfies", "selfie-thumbnail", "progress", "gallery"}


def test_the_list_of_pages_comes_from_the_urlconf():
    names = {p.name for p, _parameters in GET_PAGES}
    assert EMPLOYEE_ROUTES <= names and {"admin-dashboard", "admin-review", "admin-audit"} <= names
    assert not names & {"selfie-delete", "generate", "admin-request-retry", "admin-api-key-action"}  # POST only


def sample_kwargs(parameters: tuple[str, ...], tenant) -> dict:
    """A value for each URL parameter from the tenant's rows; a parameter nobody named here fails loudly."""
    ids = {**tenant.ids(), "org_slug": tenant.org.slug, "token_id": tenant.extra["scim_token_id"].pk,
           "delivery_id": tenant.delivery.pk}
    return {name: ids[name] for name in parameters}


def add_rows(tenant, first: int, count: int) -> None:
    """More of everything the pages list: people (with teams, invites, consent, selfies, done and failed requests,
    headshots waiting for review or failed QC, rollouts), the app objects of the isolation matrix (API keys, export
    jobs, SCIM tokens, webhook endpoints, receipts, domains, photo pushes), and the signed-in employee's own selfies,
    requests and headshots, webhook deliveries and audit events."""
    data = png_bytes()
    for i in range(first, first + count):
        user = make_user(tenant.org, Role.EMPLOYEE)
        make_user(tenant.org, Role.ADMIN)
        team, _created = Team.objects.get_or_create(organization=tenant.org, name=f"Team {i}")
        employee = make_employee(tenant.org, user, name=f"Person {i}")
        employee.team = team
        employee.save(update_fields=["team"])
        grant_consent(employee)
        invite_create(organization=tenant.org, email=f"more{i}@example.com", invited_by=tenant.admin)
        kit = make_brand_kit(tenant.org)
        for owner in (employee, tenant.employee):
            selfie = Selfie(organization=tenant.org, employee=owner, checksum="f" * 60 + f"{i:04d}",
                            size_bytes=len(data))
            selfie.file.save("more.png", ContentFile(data), save=False)
            selfie.save()
            for status in (RequestStatus.DONE, RequestStatus.FAILED):
                generation = GenerationRequest.objects.create(
                    organization=tenant.org, employee=owner, brand_kit_version=kit.current_version, status=status,
                    error="boom" if status == RequestStatus.FAILED else "", finished_at=timezone.now())
                generation.selfies.set([selfie])
                Headshot.objects.create(
                    organization=tenant.org, request=generation, employee=owner, brand_kit_version=kit.current_version,
                    source_selfie=selfie, variant="standard", idempotency_key=f"{generation.pk}:{selfie.pk}",
                    width=64, height=80, file=tenant.headshot.file.name, renditions=tenant.headshot.renditions,
                    qc={"identity_distance": 0.3, "failures": [] if status == RequestStatus.DONE else ["identity"]},
                    qc_passed=status == RequestStatus.DONE, rank=i + 1)
                # A finished rollout for the history, a paused one for the dashboard ...
                rollout = Rollout.objects.create(organization=tenant.org, scope="all", created_by=tenant.admin,
                                                 status="done" if status == RequestStatus.DONE else "paused")
                RolloutRequest.objects.create(organization=tenant.org, rollout=rollout, request=generation)
        # ... and a running one with nothing finished yet (its ETA goes by the organization's recent pace).
        queued = GenerationRequest.objects.create(organization=tenant.org, employee=employee,
                                                  brand_kit_version=kit.current_version, status=RequestStatus.QUEUED)
        rollout = Rollout.objects.create(organization=tenant.org, scope="all", created_by=tenant.admin,
                                         status="running")
        RolloutRequest.objects.create(organization=tenant.org, rollout=rollout, request=queued)
        headshot = Headshot.objects.filter(employee=employee, qc_passed=True).first()
        more = SimpleNamespace(org=tenant.org, admin=tenant.admin, employee=employee, employee_user=user,
                               headshot=headshot)
        for hook in MATRIX_HOOKS:
            hook(more)
        add_delivery(tenant, f"more_{i}")
        record(action="employee.updated", organization=tenant.org, actor=tenant.admin,
               object=("employee", employee.pk))


def add_delivery(tenant, message_id: str) -> WebhookDelivery:
    endpoint = tenant.extra["webhook_id"]
    message = WebhookMessage.objects.create(organization=tenant.org, message_id=message_id,
                                            event_type="webhook.ping", payload={}, timestamp=timezone.now())
    return WebhookDelivery.objects.create(organization=tenant.org, endpoint=endpoint, message=message,
                                          status=DeliveryStatus.FAILED, attempts=8, last_status_code=500,
                                          last_error="HTTP 500", finished_at=timezone.now())


@pytest.fixture
def tenant(org_a, monkeypatch):
    tenant = populate(org_a)
    grant_consent(tenant.employee)
    tenant.delivery = add_delivery(tenant, "first")
    # The kit preview's pipeline is not what is counted here (it has its own tests): a fixed JPEG.
    monkeypatch.setattr(admin_brand_kits_views, "brand_preview", lambda spec: (b"\xff\xd8jpeg", True))
    return tenant


def queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code < 400, (url, response.status_code, response.content[:300])
    return len(captured)


@pytest.mark.parametrize(("pattern", "parameters"), GET_PAGES, ids=[p.name for p, _parameters in GET_PAGES])
def test_a_page_makes_a_bounded_number_of_queries_that_does_not_grow_with_rows(tenant, pattern, parameters):
    user = tenant.employee_user if pattern.name in EMPLOYEE_ROUTES else tenant.admin
    client = Client()
    client.force_login(user)
    url = reverse(f"portal:{pattern.name}", kwargs=sample_kwargs(parameters, tenant))
    if pattern.name == "admin-brand-kit-preview":  # with the editor's fields, as its first preview sends them
        edit = reverse("portal:admin-brand-kit-edit", kwargs=sample_kwargs(parameters, tenant))
        url = client.get(edit).context["initial_preview"]
    add_rows(tenant, 0, 1)  # one row of each kind (no empty list skips its queries)
    queries(client, url)  # warm: caches filled on a first request aren't counted against anyone
    few = queries(client, url)
    add_rows(tenant, 1, MORE)
    many = queries(client, url)
    assert many <= few, f"{url}: {few} queries with one row of each kind, {many} with {MORE + 1}"
    assert many <= MAX_QUERIES, f"{url}: {many} queries"
