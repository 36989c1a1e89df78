"""The admin portal's Rollouts page: preview who is ready and who is skipped (and why), start one, read the history.

The preview is the check rollout_start applies (rollouts.selectors.rollout_readiness), so the people the page says
are ready are exactly the people the rollout makes requests for.
"""
from __future__ import annotations

import pytest
from django.test import Client

from rollouts.models import Rollout, RolloutPriority, RolloutStatus
from teams.employees import team_get_or_create
from teams.models import GenerationRequest
from tenancy.models import Role
from tests.factories import grant_consent, make_brand_kit, make_employee, make_user
from tests.rollouts.conftest import ready_employee
from tests.urls import url_of

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rollouts(org) -> str:
    return url_of("portal:admin-rollouts", org)


@pytest.fixture
def design(org_a):
    """Team Design of org_a: two ready people, one without consent, one with too few selfies; plus one ready
    person in another team."""
    org_a.selfies_required = 1
    org_a.save()
    make_brand_kit(org_a)
    team = team_get_or_create(organization=org_a, name="Design")
    ready = [ready_employee(org_a, n, team=team) for n in (1, 2)]
    no_consent = make_employee(org_a, name="Nora Noconsent")
    no_selfies = make_employee(org_a, name="Sam Selfieless")
    grant_consent(no_selfies)
    for employee in (no_consent, no_selfies):
        employee.team = team
        employee.save(update_fields=["team"])
    ready_employee(org_a, 9)  # another team: out of scope
    gone = ready_employee(org_a, 7, team=team)  # ready, but deactivated: out of scope too
    gone.active = False
    gone.save(update_fields=["active"])
    return team, ready, no_consent, no_selfies


def test_the_preview_names_who_is_ready_and_who_is_skipped_with_reasons(org_a, design):
    team, ready, no_consent, no_selfies = design
    page = signed_in(make_user(org_a, Role.ADMIN)).get(rollouts(org_a), {"who": team.pk, "priority": 0})
    html = page.content.decode()
    assert page.status_code == 200
    assert '<span class="count" id="ready-count">2</span>' in html
    assert '<span class="count" id="skipped-count">2</span>' in html
    assert "Nora Noconsent" in html and "No consent yet" in html
    assert "Sam Selfieless" in html and "Too few selfies (0 of 1)" in html
    assert "Estimated time:" in html and "Start the rollout for 2 people" in html
    assert not Rollout.objects.exists()  # a preview starts nothing


def test_starting_a_team_rollout_makes_requests_for_exactly_the_previewed_people(org_a, design):
    team, ready, no_consent, no_selfies = design
    client = signed_in(make_user(org_a, Role.ADMIN))
    started = client.post(f"{rollouts(org_a)}start", {"who": team.pk, "priority": RolloutPriority.HIGH})
    assert started.status_code == 302
    rollout = Rollout.objects.get(organization=org_a)
    assert rollout.team == team and rollout.priority == RolloutPriority.HIGH
    assert set(GenerationRequest.objects.filter(rollout_item__rollout=rollout).values_list("employee", flat=True)) \
        == {e.pk for e in ready}
    assert {s["reason"] for s in rollout.skipped} == {"consent_required", "not_enough_selfies"}
    assert f"Rollout #{rollout.pk} started for 2 people." in client.get(rollouts(org_a)).content.decode()


def test_a_rollout_nobody_is_ready_for_is_refused_with_its_reason(org_a):
    make_brand_kit(org_a)
    make_employee(org_a, name="Nora Noconsent")
    client = signed_in(make_user(org_a, Role.ADMIN))
    assert "Nobody in this group is ready yet" in client.get(rollouts(org_a), {"who": "all", "priority": 0}) \
        .content.decode()
    client.post(f"{rollouts(org_a)}start", {"who": "all", "priority": 0})
    assert not Rollout.objects.exists()
    assert "No employee in scope has a complete selfie set" in client.get(rollouts(org_a)).content.decode()


def test_finished_rollouts_are_listed_with_their_counts(org_a, design):
    team, *_ = design
    admin = make_user(org_a, Role.ADMIN)
    client = signed_in(admin)
    client.post(f"{rollouts(org_a)}start", {"who": "all", "priority": 0})
    rollout = Rollout.objects.get(organization=org_a)
    GenerationRequest.objects.filter(rollout_item__rollout=rollout).update(status="done")
    Rollout.objects.filter(pk=rollout.pk).update(status=RolloutStatus.DONE)
    html = client.get(rollouts(org_a)).content.decode()
    row = html[html.index(f'data-rollout="{rollout.pk}"'):]
    assert '<td data-label="People">3</td>' in row and 'class="rollout-done">3</td>' in row
    assert '<td data-label="Skipped">2</td>' in row


def test_another_organizations_team_is_404_and_starts_nothing(org_a, org_b, design):
    theirs = team_get_or_create(organization=org_b, name="Theirs")
    client = signed_in(make_user(org_a, Role.ADMIN))
    assert client.get(rollouts(org_a), {"who": theirs.pk, "priority": 0}).status_code == 404
    assert client.post(f"{rollouts(org_a)}start", {"who": theirs.pk, "priority": 0}).status_code == 404
    assert client.post(f"{rollouts(org_a)}start", {"who": "drop table", "priority": 0}).status_code == 400
    assert not Rollout.objects.exists()


def test_only_admins_of_the_organization_reach_the_rollouts_page(org_a, org_b, design):
    assert Client().get(rollouts(org_a)).status_code == 302  # to the login page
    employee = signed_in(make_user(org_a, Role.EMPLOYEE))
    assert employee.get(rollouts(org_a)).status_code == 403
    assert employee.post(f"{rollouts(org_a)}start", {"who": "all", "priority": 0}).status_code == 403
    stranger = signed_in(make_user(org_b, Role.OWNER))
    assert stranger.get(rollouts(org_a)).status_code == 404
    assert stranger.post(f"{rollouts(org_a)}start", {"who": "all", "priority": 0}).status_code == 404
    assert not Rollout.objects.exists()
