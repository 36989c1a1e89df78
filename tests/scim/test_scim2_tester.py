"""An independent conformance check: scim2-tester's whole suite against our WSGI app, in process, no network."""
from __future__ import annotations

import pytest
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_models import ScimProvider
from scim2_tester import Status, check_server

from teams.models import Employee

pytestmark = pytest.mark.django_db(transaction=True)

FAILED = (Status.ERROR, Status.CRITICAL)


def _client(secret: str) -> WSGISCIMClient:
    from config.wsgi import application

    return WSGISCIMClient(application, base_url="http://localhost/scim/v2",
                          headers={"Authorization": f"Bearer {secret}"}, provider=ScimProvider())


def test_scim2_tester_finds_no_failure(acme, globex):
    results = check_server(_client(acme.secret))
    failures = [r for r in results if r.status in FAILED]
    for failure in failures:
        print(failure.resource_type, failure.title, failure.reason, repr(failure.data)[:400])
    assert not failures, f"{len(failures)} of {len(results)} scim2-tester checks failed"
    by_status = {status.name: sum(r.status is status for r in results) for status in Status}
    print("scim2-tester:", by_status)
    assert by_status["SKIPPED"] == 0  # /.search across resource types included
    # It really exercised users and groups (not everything skipped), and only in Acme.
    titles = {r.title for r in results if r.status is Status.SUCCESS}
    assert {"object_creation", "object_replacement", "object_deletion", "check_add_attribute",
            "check_replace_attribute", "check_remove_attribute"} <= titles
    assert {r.resource_type for r in results if r.status is Status.SUCCESS} >= {"User", "Group"}
    assert not Employee.objects.filter(organization=globex.org).exists()
