"""Every API list endpoint (SCIM's included) costs a fixed number of queries, however many rows it lists (no N+1).

For each list: one row of its kind (and what hangs off it: a team, a user, a version, a delivery's message), one
request to warm caches, then the queries of a request listing one row; then five more rows, and the same request
must list them all within that many queries (django_assert_max_num_queries) and within CEILING in all.
"""
from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenancy.models import Role
from tests.factories import client_for, grant_consent, make_brand_kit, make_employee, make_user
from tests.urls import tenant_url, url_of

pytestmark = pytest.mark.django_db
CEILING = 15  # the most any list takes today is well under this; a list near it deserves a look
_n = itertools.count(1)


def add_employees(org, admin, count):
    from teams.employees import team_get_or_create

    for _ in range(count):
        n = next(_n)
        user = make_user(org, Role.EMPLOYEE, email=f"listed{n}@example.com")
        employee = make_employee(org, user, name=f"Listed {n}")
        employee.team = team_get_or_create(organization=org, name=f"Team {n}")
        employee.save()
        grant_consent(employee)


def add_teams(org, admin, count):
    from teams.employees import team_get_or_create

    for _ in range(count):
        member = make_employee(org, name="Member", email=f"member{next(_n)}@example.com")
        member.team = team_get_or_create(organization=org, name=f"Team {next(_n)}")
        member.save(update_fields=["team"])


def add_members(org, admin, count):
    for _ in range(count):
        make_user(org, Role.ADMIN if next(_n) % 2 else Role.EMPLOYEE)


def add_invites(org, admin, count):
    from accounts.services import invite_create

    for _ in range(count):
        invite_create(organization=org, email=f"invited{next(_n)}@example.com", invited_by=admin)


def add_api_keys(org, admin, count):
    from integrations.services import api_key_create

    for _ in range(count):
        api_key_create(organization=org, name=f"Key {next(_n)}", scopes=["employees:read"], created_by=admin)


def add_scim_tokens(org, admin, count):
    from scim.services import scim_token_create

    for _ in range(count):
        scim_token_create(organization=org, created_by=admin, name=f"Token {next(_n)}")


def add_webhooks(org, admin, count):
    from webhooks.services import endpoint_create

    for _ in range(count):
        endpoint_create(organization=org, url=f"https://hooks{next(_n)}.example.com/in")


def add_brand_kits(org, admin, count):
    from brand_kits.services import brand_kit_create

    for _ in range(count):
        brand_kit_create(organization=org, name=f"Kit {next(_n)}",
                         spec={"background": {"kind": "solid", "color": "#1f4e79"}})


def _headshots(org, count, *, approved=False):
    from tests.connectors.conftest import make_headshot

    made = []
    for _ in range(count):
        n = next(_n)
        employee = make_employee(org, make_user(org, Role.EMPLOYEE, email=f"shot{n}@example.com"), name=f"Shot {n}")
        made.append(make_headshot(employee, approved=approved, size=(64, 80)))
    return made


def add_generation_requests(org, admin, count):
    _headshots(org, count)


def add_headshots(org, admin, count):
    _headshots(org, count, approved=True)


def add_audit_events(org, admin, count):
    from audit.services import record

    for _ in range(count):
        employee = make_employee(org, name="Audited", email=f"audited{next(_n)}@example.com")
        record(action="employee.updated", organization=org, actor=admin, object=employee, detail={"field": "name"})


def add_rollouts(org, admin, count):
    from rollouts.models import Rollout

    for _ in range(count):
        Rollout.objects.create(organization=org, created_by=admin, scope="all",
                               finished_at=timezone.now() - timedelta(minutes=next(_n)), status="done")


def add_domains(org, admin, count):
    from tests.factories import verify_domain

    for _ in range(count):
        verify_domain(org, f"d{next(_n)}.example.com")


def add_exports(org, admin, count):
    from integrations.export_jobs import export_job_start

    for _ in range(count):
        export_job_start(organization=org, preset="hibob", created_by=admin)


def add_deliveries(org, admin, count):
    from webhooks.models import WebhookEndpoint
    from webhooks.services import endpoint_create, event_emit

    if not WebhookEndpoint.objects.filter(organization=org).exists():
        endpoint_create(organization=org, url="https://deliveries.example.com/in")
    for _ in range(count):
        event_emit(organization_id=org.pk, event_type="headshot.approved", data={"n": next(_n)})


def add_kit_versions(org, admin, count):
    from brand_kits.models import BrandKit
    from brand_kits.services import brand_kit_update

    kit = BrandKit.objects.filter(organization=org).order_by("id").first()
    for _ in range(count):
        brand_kit_update(kit=kit, spec={"background": {"kind": "solid", "color": f"#{next(_n) % 255:02x}4e79"}})


def add_own_headshots(org, admin, count):
    from teams.models import Employee
    from tests.connectors.conftest import make_headshot

    employee = Employee.objects.get(organization=org, user=admin)
    for _ in range(count):
        make_headshot(employee, approved=True, size=(64, 80))  # and the request that made it


# name: (URL name, a tenant route's under api:tenant:, how to add rows)
LISTS = {
    "employees": ("employee-list", add_employees),
    "teams": ("team-list", add_teams),
    "members": ("member-list", add_members),
    "invites": ("invite-list", add_invites),
    "api-keys": ("api-key-list", add_api_keys),
    "scim-tokens": ("scim-token-list", add_scim_tokens),
    "webhooks": ("webhook-list", add_webhooks),
    "brand-kits": ("brand-kit-list", add_brand_kits),
    "generation-requests": ("generation-request-list", add_generation_requests),
    "headshots": ("headshot-list", add_headshots),
    "audit-events": ("audit-event-list", add_audit_events),
    "rollouts": ("rollout-list", add_rollouts),
    "domains": ("domain-list", add_domains),
    "exports": ("export-job-list", add_exports),
    "webhook-deliveries": ("webhook-deliveries", add_deliveries),
    "brand-kit-versions": ("brand-kit-versions", add_kit_versions),
    "me-headshots": ("my-headshot-list", add_own_headshots),
    "me-generation-requests": ("my-generation-request-list", add_own_headshots),
    "scim-users": ("scim:users", add_employees),
    "scim-groups": ("scim:groups", add_teams),
}


def listed(body) -> list:
    if isinstance(body, dict):
        for key in ("results", "items", "data", "Resources"):
            if isinstance(body.get(key), list):
                return body[key]
        raise AssertionError(f"no list in {sorted(body)}")
    return body


@pytest.mark.parametrize("name", sorted(LISTS))
def test_a_list_costs_the_same_queries_for_one_row_and_for_six(name, org_a, django_assert_max_num_queries):
    route, add = LISTS[name]
    admin = make_user(org_a, Role.ADMIN)
    make_employee(org_a, admin, name="The Admin")
    kit = make_brand_kit(org_a)
    api = client_for(admin)
    add(org_a, admin, 1)
    if route.startswith("scim:"):
        from scim.services import scim_token_create

        _, secret = scim_token_create(organization=org_a, created_by=admin, name="IdP")
        api = client_for(None)
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        url = url_of(route)
    else:
        from webhooks.models import WebhookEndpoint

        webhook = WebhookEndpoint.objects.filter(organization=org_a).order_by("id").first()
        ids = {"webhook-deliveries": [webhook.pk if webhook else 0], "brand-kit-versions": [kit.pk]}.get(route, [])
        url = tenant_url(route, org_a, *ids)
    assert api.get(url).status_code == 200  # warm: caches, sessions, the token
    with CaptureQueriesContext(connection) as one:
        response = api.get(url)
    assert response.status_code == 200, response.content
    before = len(listed(response.json()))
    assert before >= 1, f"{name}: the seeded row is not listed"
    assert len(one) <= CEILING, [q["sql"] for q in one.captured_queries]

    add(org_a, admin, 5)
    with django_assert_max_num_queries(len(one)):
        response = api.get(url)
    assert response.status_code == 200, response.content
    assert len(listed(response.json())) >= before + 5, f"{name}: the five new rows are not all listed"
