"""The HR admin runs the product from the portal, in a real browser at desktop and phone size: starts a team rollout
and watches it finish, changes retention and reads it on the public privacy page, grants admin to a colleague.

Every page is audited (axe-core, no serious or critical violation, no CSP violation) and photographed.
The rollout runs for real: Redis, a dramatiq worker and the Ray pool with the calibrated stand-in model.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from rollouts.models import Rollout, RolloutStatus
from teams.employees import team_get_or_create
from teams.models import Headshot
from tenancy.models import Membership, Role
from tests.factories import grant_consent, make_brand_kit, make_employee, make_org, make_user
from tests.jobs_support import dramatiq_worker
from tests.rollouts.conftest import VARIANTS, local_ray, ready_employee, use_standin  # noqa: F401 (fixture)
from tests.urls import url_of

pytestmark = [pytest.mark.slow]


def both(audit, page, phone_page, name: str) -> None:
    """Audit the page open on the desktop, then the same URL on the phone."""
    audit(page, name)
    phone_page.goto(page.url)
    audit(phone_page, name)


@pytest.mark.redis
def test_admin_starts_a_team_rollout_and_watches_it_finish(
        desktop_page, phone_page, login_as, audit, transactional_db, local_ray, redis_broker, settings):  # noqa: F811 (fixture)
    use_standin(settings, delay=0.3, in_flight=2)
    org = make_org("Initech", selfies_required=1)
    make_brand_kit(org, background={"kind": "solid", "color": "#1f4e79"}, output_sizes=[256],
                   variants_per_person=VARIANTS)
    admin = make_user(org, Role.ADMIN)
    design = team_get_or_create(organization=org, name="Design")
    ready = [ready_employee(org, n, team=design) for n in range(3)]
    waiting = make_employee(org, name="Wendy Waiting", email="wendy@initech.example")
    grant_consent(waiting)  # consent, but no selfies yet
    waiting.team = design
    waiting.save(update_fields=["team"])
    no_consent = make_employee(org, name="Nico Noconsent", email="nico@initech.example")
    no_consent.team = design
    no_consent.save(update_fields=["team"])
    page = desktop_page
    login_as(page, admin)
    login_as(phone_page, admin)

    page.goto(url_of("portal:orgs"))  # an admin lands on the admin dashboard
    expect(page.locator("h1")).to_have_text("Rollout dashboard")
    page.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Rollouts").click()
    page.get_by_label("Who").select_option(label="Team: Design")
    page.get_by_label("Priority").select_option(label="Normal")
    page.get_by_role("button", name="Check who is ready").click()
    expect(page.locator("#ready-count")).to_have_text("3")
    expect(page.locator("#skipped-count")).to_have_text("2")
    expect(page.locator("tr.skipped", has_text="Wendy Waiting")).to_contain_text("Too few selfies (0 of 1)")
    expect(page.locator("tr.skipped", has_text="Nico Noconsent")).to_contain_text("No consent yet")
    expect(page.locator("#rollout-estimate")).to_contain_text("Estimated time:")
    both(audit, page, phone_page, "admin-rollouts-preview")
    assert not Rollout.objects.exists()

    with dramatiq_worker(threads=2):
        page.get_by_role("button", name="Start the rollout for 3 people").click()
        rollout = Rollout.objects.get(organization=org)
        expect(page.locator(".admin-messages")).to_have_text(f"Rollout #{rollout.pk} started for 3 people.")
        expect(page.locator("article.rollout")).to_contain_text("of 3 people finished")
        audit(page, "admin-rollouts-running")
        # The admin keeps the page open and reloads it until the rollout moves to the finished list.
        for _ in range(120):
            page.reload()
            if page.locator(f'tr.finished-rollout[data-rollout="{rollout.pk}"]').count():
                break
            page.wait_for_timeout(500)
    row = page.locator(f'tr.finished-rollout[data-rollout="{rollout.pk}"]')
    expect(row.locator(".rollout-status")).to_have_text("Done")
    expect(row.locator(".rollout-done")).to_have_text("3")
    both(audit, page, phone_page, "admin-rollouts-history")
    rollout.refresh_from_db()
    assert rollout.status == RolloutStatus.DONE
    assert Headshot.objects.filter(employee__in=ready).count() == 3 * VARIANTS


def test_admin_changes_retention_and_the_privacy_page_shows_it(desktop_page, phone_page, login_as, audit,
                                                                transactional_db):
    org_a = make_org("Acme")
    owner = make_user(org_a, Role.OWNER)
    page = desktop_page
    login_as(page, owner)
    login_as(phone_page, owner)
    page.goto(url_of("portal:admin-dashboard", org_a))
    page.get_by_role("link", name="Settings").click()
    both(audit, page, phone_page, "admin-settings")
    page.get_by_role("link", name="Organization").first.click()
    page.get_by_label("Keep selfies and face data for (days after approval)").fill("2000")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".error")).to_contain_text("less than or equal to 1095")
    page.get_by_label("Keep selfies and face data for (days after approval)").fill("21")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".admin-messages")).to_have_text("The organization's settings are saved.")
    both(audit, page, phone_page, "admin-settings-organization")
    page.get_by_role("link", name="Read the privacy notice your people see").click()
    expect(page.locator("table.facts")).to_contain_text("21 days after your headshot is approved")
    expect(page.locator("article")).to_contain_text("deleted 21 days after your headshot is approved")


def test_admin_grants_admin_to_a_colleague(desktop_page, phone_page, login_as, audit, transactional_db):
    org_a = make_org("Acme")
    owner = make_user(org_a, Role.OWNER)
    colleague = make_user(org_a, Role.EMPLOYEE, email="grace@acme.example")
    make_employee(org_a, colleague, name="Grace Hopper")
    make_employee(org_a, name="Nev Never", email="never@acme.example")
    page = desktop_page
    login_as(page, owner)
    login_as(phone_page, owner)
    page.goto(url_of("portal:admin-settings", org_a))
    page.get_by_role("link", name="People and roles").first.click()
    row = page.locator('tr.member[data-email="grace@acme.example"]')
    expect(row.locator(".member-state")).to_have_text("Joined")
    expect(page.locator('tr.person[data-email="never@acme.example"] .person-state')).to_have_text("Never invited")
    row.get_by_label("Role of grace@acme.example").select_option("admin")
    row.get_by_role("button", name="Save role").click()
    expect(page.locator(".admin-messages")).to_have_text("grace@acme.example's role is saved.")
    expect(page.locator('tr.member[data-email="grace@acme.example"] .member-role')).to_have_text("Admin")
    assert Membership.objects.get(user=colleague).role == Role.ADMIN
    both(audit, page, phone_page, "admin-people-and-roles")
