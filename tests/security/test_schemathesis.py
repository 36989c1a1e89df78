"""Property-based API testing with schemathesis: every operation in our OpenAPI schema, called in-process through the
WSGI app with generated (valid and invalid) inputs, as a signed-in member of a fully populated organization.

Checks on every answer: never a 5xx; a status the schema documents (config/openapi.py documents each operation's
errors: 400, 401, 403, 404, 413, 429 and 4XX, in the Error shape), with a documented content type and a body that
matches the documented schema; every 4xx JSON in the API's error shape {"detail", "code"}. Time-boxed by
SCHEMATHESIS_EXAMPLES (valid cases per operation; half as many invalid ones).
"""
from __future__ import annotations

import os
import time
from collections import Counter

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from integrations.services import api_key_create
from tenancy.models import Role
from tests.api.conftest import populate
from tests.factories import grant_consent, make_user
from tests.urls import tenant_url, url_of

pytestmark = pytest.mark.django_db
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "25"))
# Run last, in this order: they delete the populated objects the other operations are aimed at.
DESTRUCTIVE_LAST = ("DELETE", "/erase")
# Nothing is excluded: the streaming ZIP export and the file downloads are called too (their bodies are binary, so
# only status and content type are checked there; the ZIP endpoint streams the organization's real headshot).


class ErrorShape(Exception):
    pass


def content_type(response) -> str:
    # schemathesis' Response keeps headers with lower-case names and a list of values each.
    value = response.headers.get("content-type") or [""]
    return value[0] if isinstance(value, list) else value


def check_status_and_error_shape(response, case) -> None:
    """Every status is documented, exactly or by its class (4XX). An exactly documented one had its content type and
    body checked against the schema; one documented by its class must be JSON in the API's error shape (a 404 for a
    path id that isn't a number included)."""
    code = response.status_code
    responses = case.operation.responses
    if responses.find_by_status_code(code) is None:
        raise ErrorShape(f"undocumented status {code} (documented: {sorted(responses.status_codes)})")
    if str(code) in responses.status_codes:
        return
    if 400 <= code < 500:
        if "json" not in content_type(response):
            raise ErrorShape(f"{code} is not JSON: {content_type(response)!r}")
        body = response.json()
        if not (isinstance(body, dict) and isinstance(body.get("detail"), str) and isinstance(body.get("code"), str)):
            raise ErrorShape(f"{code} without the API error shape: {str(body)[:200]}")


def operation_order(operation) -> tuple:
    """Reads first, then the employee's own changes, then the admin's, then deletions: an admin's generated PATCH
    may deactivate the employee (whose token then stops working), and a DELETE removes the object others aim at."""
    label = f"{operation.method.upper()} {operation.path}"
    return (any(marker in label for marker in DESTRUCTIVE_LAST), operation.method.upper() != "GET",
            "/{org_slug}/me" not in operation.path, label)


@pytest.fixture
def world(org_a, rates):
    # Limits are tested in test_rate_limits.py; here they would only turn generated requests into 429s.
    rates(login_ip="100000/min", login_email="100000/min", signup="100000/min", selfie_upload="100000/min",
          user="100000/min")
    tenant = populate(org_a)
    grant_consent(tenant.employee)
    from rest_framework.authtoken.models import Token

    admin_token = Token.objects.create(user=tenant.admin).key
    employee_token = Token.objects.create(user=tenant.employee_user).key
    api_key = api_key_create(organization=org_a, name="schemathesis", scopes=["employees:read", "headshots:read"],
                             created_by=tenant.admin).key
    make_user(org_a, Role.ADMIN, email="second-admin@example.com")
    return tenant, admin_token, employee_token, api_key


def headers_for(path: str, admin_token: str, employee_token: str, api_key: str) -> dict[str, str]:
    if path.startswith("/api/v1/directory/"):
        return {"Authorization": f"Bearer {api_key}"}
    if path.startswith("/api/v1/orgs/{org_slug}/me"):
        return {"Authorization": f"Token {employee_token}"}
    return {"Authorization": f"Token {admin_token}"}


# Who calls every operation: each operation's own role (admins on admin paths, the employee on /me, the API key on
# the directory), then every operation as the admin, as the employee and as the API key, whatever it is for (their
# refusals must be documented, in the error shape, and never a 500).
CALLERS = {
    "by_role": headers_for,
    "admin": lambda path, admin, employee, key: {"Authorization": f"Token {admin}"},
    "employee": lambda path, admin, employee, key: {"Authorization": f"Token {employee}"},
    "api_key": lambda path, admin, employee, key: {"Authorization": f"Bearer {key}"},
}


@pytest.fixture
def wsgi_app():
    """The real WSGI app, minus closing the database connection after each request (as Django's test client does):
    the test's transaction holds the populated organization."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.parametrize("caller", list(CALLERS))
def test_every_operation_survives_generated_input_and_matches_the_schema(world, wsgi_app, caller):
    tenant, admin_token, employee_token, api_key = world
    # The other callers mostly meet refusals; fewer examples each keeps the four runs time-boxed together.
    examples_per_operation = EXAMPLES if caller == "by_role" else max(2, EXAMPLES // 5)
    schema = schemathesis.openapi.from_wsgi(url_of("schema") + "?format=json", wsgi_app)
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=operation_order)
    path_values = {"org_slug": tenant.org.slug, "external_id": tenant.employee.external_id, **tenant.ids()}
    checks = [not_a_server_error, content_type_conformance, response_schema_conformance]
    failures: dict[tuple[str, str], str] = {}
    statuses: Counter = Counter()
    cases = 0
    started = time.monotonic()

    seconds_per_operation: Counter = Counter()
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        operation_started = time.monotonic()
        fixed = {p.name: path_values[p.name] for p in operation.path_parameters if p.name in path_values}
        headers = CALLERS[caller](operation.path, admin_token, employee_token, api_key)
        modes = [(schemathesis.GenerationMode.POSITIVE, examples_per_operation)]
        if list(operation.query) or list(operation.body) or len(fixed) < len(list(operation.path_parameters)):
            # Only where there is input to get wrong (else hypothesis spins looking for an invalid case).
            modes.append((schemathesis.GenerationMode.NEGATIVE, max(1, examples_per_operation // 2)))
        for mode, examples in modes:

            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
            @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            def run(case):
                nonlocal cases
                cases += 1
                response = None
                # A savepoint per case: a database error in one request must not abort the test's transaction (and
                # turn every later request into a 500 of its own).
                savepoint = transaction.savepoint()
                try:
                    response = case.call(headers=headers)
                    if response.status_code >= 500:
                        transaction.savepoint_rollback(savepoint)
                    else:
                        transaction.savepoint_commit(savepoint)
                    statuses[response.status_code // 100] += 1
                    case.validate_response(response, checks=checks, headers=headers)
                    check_status_and_error_shape(response, case)
                except (Exception, FailureGroup) as exc:  # noqa: BLE001 - each is collected, reported, and fails the test
                    first = exc.exceptions[0] if isinstance(exc, FailureGroup) else exc
                    key = (label, type(first).__name__ + ": " + str(first).splitlines()[0][:160])
                    detail = str(first)[:1500]
                    if response is not None:
                        detail += f"\nstatus {response.status_code}: {response.text[:400]}"
                    failures.setdefault(key, f"{mode.name} {case.method} {case.formatted_path} "
                                             f"query={case.query} body={str(case.body)[:300]}\n{detail}")

            try:
                run()
            except Unsatisfiable:
                # Only the fixed path parameters to vary: there is no invalid request of this operation to make.
                assert mode is schemathesis.GenerationMode.NEGATIVE, label
        seconds_per_operation[label] = time.monotonic() - operation_started

    seconds = time.monotonic() - started
    print(f"\nschemathesis as {caller}: {len(operations)} operations, {cases} cases, {len(failures)} distinct "
          f"failures, responses by class {dict(sorted(statuses.items()))}, {seconds:.0f} s")
    print("slowest:", ", ".join(f"{label} {sec:.1f} s" for label, sec in seconds_per_operation.most_common(6)))
    for (label, title), detail in sorted(failures.items()):
        print(f"--- {label}: {title}\n{detail}\n")
    assert len(operations) >= 80
    if caller == "by_role":
        assert statuses[2] > len(operations), "too few cases reached a real view; the fixed parameters are off"
    assert not failures, f"{len(failures)} failures, see the printed report"


# Regressions for what schemathesis found, each as a plain request.


def test_directory_updated_since_with_an_offset_postgresql_rejects_is_read_in_utc(world):
    tenant, _, _, api_key = world
    from rest_framework.test import APIClient

    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    # -16:25 is a valid ISO 8601 offset that PostgreSQL refuses (it took +-15:59): was a 500.
    response = client.get(url_of("integrations:directory-employees"), {"updated_since": "2020-06-02T01:09:50-16:25"})
    assert response.status_code == 200
    assert tenant.employee.external_id in {row["external_id"] for row in response.json()["results"]}
    # Past year 9999 once in UTC: a clear 400, not an overflow.
    response = client.get(url_of("integrations:directory-employees"), {"updated_since": "9999-12-31T23:00:00-05:00"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_updated_since"


def test_a_huge_page_limit_is_cut_to_the_ceiling_instead_of_overflowing(world):
    tenant, admin_token, _, _ = world
    from rest_framework.test import APIClient

    client = APIClient(HTTP_AUTHORIZATION=f"Token {admin_token}")
    response = client.get(tenant_url("employee-list", tenant.org), {"limit": 10**28, "offset": 10**28})
    assert response.status_code == 200 and response.json()["results"] == []
    response = client.get(tenant_url("employee-list", tenant.org), {"limit": 10**28})
    assert response.status_code == 200 and len(response.json()["results"]) == response.json()["count"] >= 1


def test_withdrawing_consent_answers_the_documented_200_with_the_new_state(world):
    tenant, _, employee_token, _ = world
    from rest_framework.test import APIClient

    # Found as the employee: the schema said 204 (drf-spectacular's default for a DELETE) for this 200 with a body.
    response = APIClient(HTTP_AUTHORIZATION=f"Token {employee_token}").delete(
        tenant_url("my-consent", tenant.org))
    assert response.status_code == 200 and response.json()["granted"] is False
    schema = APIClient().get(url_of("schema") + "?format=json").json()
    assert set(schema["paths"]["/api/v1/orgs/{org_slug}/me/consent"]["delete"]["responses"]) >= {"200"}
    assert "204" not in schema["paths"]["/api/v1/orgs/{org_slug}/me/consent"]["delete"]["responses"]
